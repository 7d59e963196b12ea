package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/pipeline"
)

// serveSSE answers with GraphQL over Server-Sent Events (the protocol's
// "distinct connections" mode): one "next" event per result, then "complete".
// Queries and mutations produce a single result; subscriptions stream until the
// upstream completes, the client leaves, the token expires or is revoked, an
// event does not fit the caller's budget, or the router drains.
func (r *Router) serveSSE(w http.ResponseWriter, req *http.Request, op *engine.Operation, caller *pipeline.Caller, headers *auth.SubgraphHeaders) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeErrors(w, mediaJSON, http.StatusInternalServerError, engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "streaming is not supported here"))
		return
	}
	var sub *pipeline.Subscription
	if op.Type == engine.Subscription {
		var err error
		if sub, err = r.pipe.Subscribe(caller, op); err != nil {
			rerr := pipeline.AsRequestError(err)
			writeErrors(w, mediaJSON, rerr.Status, rerr)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", mediaEventStream+"; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	sw := &sseWriter{w: w, flusher: flusher}
	defer sw.Complete()

	if sub == nil {
		var buf bytes.Buffer
		if err := r.pipe.Execute(req.Context(), caller, op, headers, &buf); err != nil {
			if req.Context().Err() == nil {
				r.log.ErrorContext(req.Context(), "execute operation", "err", err)
				sw.event("next", errorPayload("internal server error", apperr.CodeInternal))
			}
			return
		}
		sw.event("next", buf.Bytes())
		return
	}

	ctx, cancel := r.pipe.Watch(req.Context(), caller)
	defer cancel()
	defer context.AfterFunc(r.streams, cancel)()
	err := sub.Run(ctx, headers, sw)
	var refused *engine.RequestError
	switch cause := context.Cause(ctx); {
	case errors.As(err, &refused):
		sw.event("next", errorsPayload(refused.Errors))
	case pipeline.IsAuthError(cause):
		sw.event("next", errorPayload(pipeline.TokenProblem(cause), apperr.CodeUnauthenticated))
	case err != nil && req.Context().Err() == nil && r.streams.Err() == nil:
		r.log.ErrorContext(req.Context(), "subscription", "err", err)
		sw.event("next", errorPayload("internal server error", apperr.CodeInternal))
	}
}

func errorPayload(msg, code string) []byte {
	return errorsPayload([]engine.Error{{Message: msg, Extensions: map[string]any{"code": code}}})
}

func errorsPayload(errs []engine.Error) []byte {
	b, _ := json.Marshal(map[string]any{"errors": errs})
	return b
}

// sseWriter adapts the resolver's subscription writer to an event stream. The
// resolver writes from its own goroutines, so every method locks.
type sseWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	flusher http.Flusher
	buf     bytes.Buffer
	done    bool
}

var _ resolve.SubscriptionResponseWriter = (*sseWriter)(nil)

func (s *sseWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// Flush sends what was written since the last flush as one "next" event.
func (s *sseWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() == 0 || s.done {
		return nil
	}
	err := s.writeEvent("next", s.buf.Bytes())
	s.buf.Reset()
	return err
}

func (s *sseWriter) event(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		_ = s.writeEvent(name, data)
	}
}

func (s *sseWriter) writeEvent(name string, data []byte) error {
	var b bytes.Buffer
	b.WriteString("event: " + name + "\ndata: ")
	// A JSON document has no raw newlines except as whitespace; keep each event's
	// data on lines of its own anyway.
	b.Write(bytes.ReplaceAll(bytes.TrimSpace(data), []byte("\n"), []byte("\ndata: ")))
	b.WriteString("\n\n")
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	s.flusher.Flush()
	return nil
}

// Complete ends the stream with a "complete" event (once).
func (s *sseWriter) Complete() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if s.buf.Len() > 0 {
		_ = s.writeEvent("next", s.buf.Bytes())
		s.buf.Reset()
	}
	_, _ = s.w.Write([]byte("event: complete\ndata: \n\n"))
	s.flusher.Flush()
	s.done = true
}

// Heartbeat keeps idle streams (and the proxies between) alive with a comment.
func (s *sseWriter) Heartbeat() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	if _, err := s.w.Write([]byte(":\n\n")); err != nil {
		return err
	}
	s.flusher.Flush()
	return nil
}

// Close is the resolver ending the subscription without an upstream "complete"
// (upstream gone, shutdown): the handler then sends complete; an upstream failure
// is reported first so the client can tell it from a normal end.
func (s *sseWriter) Close(kind resolve.SubscriptionCloseKind) {
	if kind == resolve.SubscriptionCloseKindDownstreamServiceError {
		s.event("next", errorPayload("the subgraph ended the subscription unexpectedly", apperr.CodeSubgraphUnavailable))
	}
}
