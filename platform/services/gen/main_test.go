package main

import (
	"os"
	"path/filepath"
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
		require.Equal(t, string(want), string(have), "%s disagrees with the service registry (platform/services): run make generate", path)
	}
}

func TestSpliceNeedsBothMarkers(t *testing.T) {
	_, err := splice([]byte("# title\n"+readmeBegin+"\nold\n"), []byte("new\n"))
	require.Error(t, err)
	got, err := splice([]byte("a\n"+readmeBegin+"\nold\n"+readmeEnd+"\nb\n"), []byte("new\n"))
	require.NoError(t, err)
	require.Equal(t, "a\n"+readmeBegin+"\nnew\n"+readmeEnd+"\nb\n", string(got))
}
