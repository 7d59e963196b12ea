// Package playground serves GraphiQL for the router: the page at / (and at
// /graphql for browsers) and its script and styles, built from pinned npm
// packages by tools/playground/build.sh and embedded in the binary, so the
// playground works with no internet access.
package playground

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets/playground.js assets/playground.css
var assets embed.FS

// AssetsPrefix is where the page loads its script and styles from.
const AssetsPrefix = "/playground/"

// version makes asset URLs change with their content, so browsers may cache
// them forever.
var version = func() string {
	h := sha256.New()
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assets.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

var page = []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Supergraph · GraphiQL</title>
<link rel="stylesheet" href="` + AssetsPrefix + `playground.css?v=` + version + `">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="` + AssetsPrefix + `playground.js?v=` + version + `"></script>
</body>
</html>
`)

// csp keeps the page to its own origin: scripts and styles from the router,
// requests to the router (WebSockets included); GraphiQL's editor needs inline
// styles, its fonts are data: URLs.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Page serves the playground's HTML.
func Page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(page)
}

// Assets serves the script and styles under AssetsPrefix.
func Assets(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, AssetsPrefix)
	if name != "playground.js" && name != "playground.css" {
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(b)
}

// WantsPage reports whether a request to the GraphQL endpoint is a browser
// navigating to it (a GET for HTML without a query), which gets the playground.
func WantsPage(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Query().Get("query") == "" &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}
