// Command devrun runs the processes of a Procfile together for local development (`make run`):
// output prefixed by process name, Ctrl-C stops them all, and one exiting stops the rest.
//
//	devrun [-f Procfile] [-timeout 10s] [name ...]
//
// Each Procfile line is "name: command"; the command runs under bash (sh without bash) in the
// Procfile's directory. Names on the command line pick a subset of the processes.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("devrun", flag.ContinueOnError)
	file := fs.String("f", "Procfile", "the Procfile to run")
	dir := fs.String("dir", "", "working directory of the processes (default: the Procfile's directory)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long processes get to stop before they are killed")
	fs.Usage = func() {
		_, _ = fmt.Fprintln(fs.Output(), "usage: devrun [-f Procfile] [-dir dir] [-timeout 10s] [name ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}

	procs, err := load(*file, fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "devrun: %v\n", err)
		return 2
	}
	if *dir == "" {
		*dir = filepath.Dir(*file)
	}

	// Notify before starting anything, so that no signal can slip past the children.
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	s := &supervisor{Dir: *dir, Timeout: *timeout, Repeat: time.Second, Out: os.Stdout, Color: colorful(os.Stdout)}
	if err := s.Run(procs, stop); err != nil {
		fmt.Fprintf(os.Stderr, "devrun: %v\n", err)
		return 1
	}
	return 0
}

func load(path string, names []string) ([]proc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it cannot lose data
	procs, err := parseProcfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return selectProcs(procs, names)
}

// colorful reports whether f is a terminal and NO_COLOR is unset.
func colorful(f *os.File) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
