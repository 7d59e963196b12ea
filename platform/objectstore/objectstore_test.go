package objectstore_test

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/objectstore"
	"supergraph/platform/objectstore/objectstoretest"
)

func TestValidKey(t *testing.T) {
	for _, key := range []string{"a", "a/b", "products/0193/cover.jpg", "A-z_0.9", "a..b", "x/y.", strings.Repeat("k", objectstore.MaxSegmentLen)} {
		assert.NoError(t, objectstore.ValidKey(key), "%q", key)
	}
	for _, key := range objectstoretest.InvalidKeys {
		assert.ErrorIs(t, objectstore.ValidKey(key), objectstore.ErrInvalidKey, "%q", key)
	}
}

func TestFSConformance(t *testing.T) {
	objectstoretest.Run(t, func(t *testing.T) objectstore.Store {
		s, err := objectstore.NewFS(filepath.Join(t.TempDir(), "media"))
		require.NoError(t, err)
		return s
	})
}

// files lists every file and folder under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}))
	return out
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := objectstore.NewFS(filepath.Join(dir, "media"))
	require.NoError(t, err)
	ctx := t.Context()

	require.NoError(t, s.Put(ctx, "products/1/a.jpg", strings.NewReader("jpeg"), 4, "image/jpeg"))
	assert.Equal(t, []string{"media", "media/products", "media/products/1", "media/products/1/.a.jpg.meta.json", "media/products/1/a.jpg"}, files(t, dir))
	b, err := os.ReadFile(filepath.Join(dir, "media/products/1/a.jpg"))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", string(b), "the object is a plain file")

	// Failed Puts and refused keys leave nothing behind, in the store or
	// beside it.
	for _, key := range objectstoretest.InvalidKeys {
		assert.Error(t, s.Put(ctx, key, strings.NewReader("x"), 1, ""))
	}
	assert.Error(t, s.Put(ctx, "products/1/b.jpg", strings.NewReader("short"), 10, ""))
	assert.Equal(t, []string{"media", "media/products", "media/products/1", "media/products/1/.a.jpg.meta.json", "media/products/1/a.jpg"}, files(t, dir))

	// Deleting the last object removes the folders it empties.
	require.NoError(t, s.Delete(ctx, "products/1/a.jpg"))
	assert.Equal(t, []string{"media"}, files(t, dir))
}

// A file system cannot hold both "a" and "a/b": the FS store refuses the
// second, as objectstore.ValidKey's documentation warns, and keeps the first.
func TestFSKeyAndFolderOfTheSameName(t *testing.T) {
	s, err := objectstore.NewFS(t.TempDir())
	require.NoError(t, err)
	ctx := t.Context()

	require.NoError(t, s.Put(ctx, "a", strings.NewReader("object a"), 8, ""))
	assert.ErrorContains(t, s.Put(ctx, "a/b", strings.NewReader("x"), 1, ""), "a folder of the key is an object")
	assert.Equal(t, []byte("object a"), content(t, s, "a"))

	require.NoError(t, s.Put(ctx, "c/d", strings.NewReader("object d"), 8, ""))
	assert.ErrorContains(t, s.Put(ctx, "c", strings.NewReader("x"), 1, ""), "the key is a folder of other objects")
	assert.Equal(t, []byte("object d"), content(t, s, "c/d"))
	ok, err := s.Exists(ctx, "c")
	require.NoError(t, err)
	assert.False(t, ok)
}

// A symlink inside the directory that leads out of it (planted by someone
// else: the store makes none) is never followed out.
func TestFSDoesNotFollowSymlinksOut(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	dir := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "escape")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "secret")))
	s, err := objectstore.NewFS(dir)
	require.NoError(t, err)
	ctx := t.Context()

	assert.Error(t, s.Put(ctx, "escape/x", strings.NewReader("x"), 1, ""))
	_, _, err = s.Get(ctx, "escape/secret")
	assert.Error(t, err)
	_, _, err = s.Get(ctx, "secret")
	assert.Error(t, err)
	assert.Error(t, s.Delete(ctx, "escape/secret"))
	// A Put replaces the link itself, never what it points to.
	require.NoError(t, s.Put(ctx, "secret", strings.NewReader("replaced"), 8, ""))
	assert.Equal(t, []byte("replaced"), content(t, s, "secret"))

	b, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	assert.Equal(t, "secret", string(b))
	assert.Equal(t, []string{"secret"}, files(t, outside))
}

func content(t *testing.T, s objectstore.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}
