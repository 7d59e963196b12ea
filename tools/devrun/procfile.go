package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// A proc is one line of a Procfile: a name and the shell command that runs it.
type proc struct {
	Name    string
	Command string
}

var procLine = regexp.MustCompile(`^([A-Za-z0-9_.-]+)\s*:\s*(.+)$`)

// parseProcfile reads "name: command" lines; blank lines and lines starting with # are skipped.
func parseProcfile(r io.Reader) ([]proc, error) {
	var procs []proc
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := procLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: want \"name: command\", got %q", n, line)
		}
		if seen[m[1]] {
			return nil, fmt.Errorf("line %d: %s is defined twice", n, m[1])
		}
		seen[m[1]] = true
		procs = append(procs, proc{Name: m[1], Command: m[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("no processes defined")
	}
	return procs, nil
}

// selectProcs keeps the named processes, in Procfile order; no names keeps them all.
func selectProcs(procs []proc, names []string) ([]proc, error) {
	if len(names) == 0 {
		return procs, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []proc
	for _, p := range procs {
		if want[p.Name] {
			out = append(out, p)
			delete(want, p.Name)
		}
	}
	for _, n := range names {
		if want[n] {
			return nil, fmt.Errorf("%s is not in the Procfile", n)
		}
	}
	return out, nil
}
