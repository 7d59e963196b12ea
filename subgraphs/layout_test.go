// Package subgraphs_test guards the layout: a subgraph never imports another
// subgraph (they talk through the router and events only).
package subgraphs_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSubgraphsDoNotImportEachOther(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...").Output()
	require.NoError(t, err)
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		owner := subgraphOf(fields[0])
		if owner == "" {
			continue
		}
		checked++
		for _, dep := range fields[1:] {
			if other := subgraphOf(dep); other != "" && other != owner {
				t.Errorf("%s imports %s: subgraphs must not import each other", fields[0], dep)
			}
		}
	}
	require.NotZero(t, checked, "no subgraph packages found")
}

// subgraphOf returns the subgraph a package belongs to, or "".
func subgraphOf(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "supergraph/subgraphs/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "internal" {
		return ""
	}
	return name
}
