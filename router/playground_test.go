package router_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

func TestPlaygroundIsServedFromTheBinary(t *testing.T) {
	t.Parallel()
	e := setup(t)
	browser := []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	for _, path := range []string{"/", "/graphql"} {
		res := e.do(http.MethodGet, path, "", nil, browser...)
		require.Equal(t, http.StatusOK, res.Status, path)
		require.Equal(t, "text/html; charset=utf-8", res.ContentType)
		require.Contains(t, string(res.Raw), `<script src="/playground/playground.js?v=`)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
	}
	res := e.do(http.MethodGet, "/playground/playground.js", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Greater(t, len(res.Raw), 100_000)
	res = e.do(http.MethodGet, "/playground/playground.css", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.ContentType, "text/css")

	// A browser's GET with a query is GraphQL, not the page.
	res = e.do(http.MethodGet, "/graphql?query=%7B__typename%7D", "", nil, browser...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"__typename": "Query"}, res.Data)

	off := setup(t, func(_ *env, c *router.Config) { c.Playground = false })
	require.Equal(t, http.StatusNotFound, off.do(http.MethodGet, "/", "", nil, browser...).Status)
	require.Equal(t, http.StatusNotFound, off.do(http.MethodGet, "/playground/playground.js", "", nil).Status)
}
