package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files that repeat the registry say what it says: a hand edit, or a
// registry change without `make generate`, fails here (and `make verify`).
func TestGeneratedFilesAgreeWithTheRegistry(t *testing.T) {
	const root = "../../.."
	files, err := render(root)
	require.NoError(t, err)
	for path, want := range files {
		have, err := os.ReadFile(filepath.Join(root, path))
		require.NoError(t, err)
		if line, h, w := firstDifference(string(have), string(want)); line > 0 {
			t.Errorf("%s:%d disagrees with the service registry (platform/services); run make generate\n have %q\n want %q", path, line, h, w)
		}
	}
}

// firstDifference returns the first line (from 1) where have and want
// differ, and that line of each; 0 when they are equal.
func firstDifference(have, want string) (int, string, string) {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	for i := range max(len(h), len(w)) {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl || (i >= len(h)) != (i >= len(w)) {
			return i + 1, hl, wl
		}
	}
	return 0, "", ""
}

func TestSpliceNeedsBothMarkers(t *testing.T) {
	_, err := splice([]byte("# title\n"+readmeBegin+"\nold\n"), []byte("new\n"))
	require.Error(t, err)
	got, err := splice([]byte("a\n"+readmeBegin+"\nold\n"+readmeEnd+"\nb\n"), []byte("new\n"))
	require.NoError(t, err)
	require.Equal(t, "a\n"+readmeBegin+"\nnew\n"+readmeEnd+"\nb\n", string(got))
}

func TestFirstDifference(t *testing.T) {
	line, _, _ := firstDifference("a\nb\n", "a\nb\n")
	require.Zero(t, line)
	line, have, want := firstDifference("a\nb\n", "a\nc\n")
	require.Equal(t, 2, line)
	require.Equal(t, "b", have)
	require.Equal(t, "c", want)
	line, _, _ = firstDifference("a\n", "a\n\n")
	require.Equal(t, 3, line)
}
