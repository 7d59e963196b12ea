package router_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/objectstore"
	"supergraph/router"
)

// The router serves the object store's images under /media/ in
// development: as stored for images, as a download for anything else,
// cacheable, with ranges, and nothing outside a valid key.
func TestMediaPathServesStoredObjects(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "media")
	e := setup(t, func(_ *env, cfg *router.Config) { cfg.Media.Dir = dir })
	store, err := objectstore.NewFS(dir)
	require.NoError(t, err)
	ctx := context.Background()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("x"), 1000)...)
	require.NoError(t, store.Put(ctx, "products/p1/a.png", bytes.NewReader(png), int64(len(png)), "image/png"))
	page := []byte("<script>alert(1)</script>")
	require.NoError(t, store.Put(ctx, "products/p1/page.png", bytes.NewReader(page), int64(len(page)), "text/html"))

	get := func(path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := get("/media/products/p1/a.png")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, png, body)
	require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Contains(t, resp.Header.Get("Cache-Control"), "immutable")

	resp, body = get("/media/products/p1/a.png", "Range", "bytes=0-7")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, png[:8], body)

	// Stored as HTML: sent as a download, never as a page of our origin.
	resp, body = get("/media/products/p1/page.png")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "attachment", resp.Header.Get("Content-Disposition"))
	require.Equal(t, page, body)

	for _, path := range []string{"/media/", "/media/products/", "/media/products/p1/missing.png",
		"/media/../secret", "/media/products/%2e%2e/x", "/media/.hidden"} {
		resp, _ := get(path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
	// Nothing outside the store's directory is reachable.
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "secret"), []byte("s"), 0o600))
	resp, body = get("/media/%2e%2e/secret")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotEqual(t, "s", string(body))
}

// Where images come from a CDN, the router serves no media path.
func TestNoMediaPathWithAnExternalPublicURL(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, cfg *router.Config) { cfg.Media.PublicBaseURL = "https://cdn.invalid/media/" })
	resp, err := http.Get(e.url + "/media/products/p1/a.png")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
