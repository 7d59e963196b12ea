package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"supergraph/platform/objectstore"
)

// mediaTypes are the content types the media path serves as stored; any
// other object is sent as a download (application/octet-stream), so nothing
// stored can run as a page on the router's origin.
var mediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// mediaHandler serves the object store's objects under objectstore.RoutePath
// (development, where images are on the router's origin; production points
// MEDIA_PUBLIC_URL at a CDN instead). Objects are immutable (keys are new
// for every upload), so answers are cached for a year; there is no listing.
//
// The store opens on the first request (its settings were validated at
// start): a router that never serves media touches no directory or bucket.
func mediaHandler(cfg objectstore.Config, log *slog.Logger) http.Handler {
	var mu sync.Mutex
	var opened objectstore.Store
	open := func() (objectstore.Store, error) {
		// A failure is not kept: the next request tries again.
		mu.Lock()
		defer mu.Unlock()
		if opened != nil {
			return opened, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := cfg.Open(ctx)
		if err == nil {
			opened = s
		}
		return s, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := strings.TrimPrefix(req.URL.Path, objectstore.RoutePath)
		if objectstore.ValidKey(key) != nil {
			http.NotFound(w, req)
			return
		}
		store, err := open()
		if err != nil {
			log.ErrorContext(req.Context(), "media store", "err", err)
			http.Error(w, "media store unavailable", http.StatusServiceUnavailable)
			return
		}
		body, info, err := store.Get(req.Context(), key)
		if errors.Is(err, objectstore.ErrNotFound) {
			http.NotFound(w, req)
			return
		}
		if err != nil {
			log.ErrorContext(req.Context(), "media", "key", key, "err", err)
			http.Error(w, "media store unavailable", http.StatusServiceUnavailable)
			return
		}
		defer func() { _ = body.Close() }() // a read-only body: nothing to flush
		h := w.Header()
		contentType := info.ContentType
		if !mediaTypes[contentType] {
			contentType = "application/octet-stream"
			h.Set("Content-Disposition", "attachment")
		}
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		if seeker, ok := body.(io.ReadSeeker); ok {
			// Ranges and If-Modified-Since for free.
			http.ServeContent(w, req, "", info.ModTime, seeker)
			return
		}
		if _, err := io.Copy(w, body); err != nil && req.Context().Err() == nil {
			log.WarnContext(req.Context(), "media: sending failed", "key", key, "err", err)
		}
	})
}
