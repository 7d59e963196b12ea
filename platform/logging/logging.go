// Package logging builds the platform's log/slog logger: text in development,
// JSON in production, with the request id of the context on every line.
package logging

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// New returns a logger writing to w in format ("text" or "json") at level
// ("debug", "info", "warn", "error"), tagged with the service name. When w
// is a *Buffered, warnings and errors are written through at once.
func New(w io.Writer, format, level, service string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if strings.EqualFold(format, "json") {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	b, _ := w.(*Buffered)
	return slog.New(contextHandler{h, b}).With("service", service)
}

// contextHandler adds the request id carried by the context to every record.
type contextHandler struct {
	slog.Handler
	buffered *Buffered // nil: writes are not buffered
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	err := h.Handler.Handle(ctx, r)
	if h.buffered != nil && r.Level >= slog.LevelWarn {
		err = errors.Join(err, h.buffered.Flush())
	}
	return err
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs), h.buffered}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name), h.buffered}
}

// Buffered gathers log lines and writes them together at most a flush
// interval later: one system call for many lines instead of one each (the
// router writes an access-log line per request, a twentieth of its CPU when
// written one by one). Loggers from New write warnings and errors through at
// once, with what waited before them; call Flush before exiting.
type Buffered struct {
	mu    sync.Mutex
	w     *bufio.Writer
	every time.Duration
	armed bool
}

// NewBuffered returns a Buffered writing to w within every.
func NewBuffered(w io.Writer, every time.Duration) *Buffered {
	return &Buffered{w: bufio.NewWriterSize(w, 64<<10), every: every}
}

func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.armed {
		b.armed = true
		time.AfterFunc(b.every, func() { _ = b.Flush() })
	}
	return b.w.Write(p)
}

// Flush writes what waits.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	return b.w.Flush()
}

type requestIDKey struct{}

// RequestIDHeader carries the request id from the router to the subgraphs.
const RequestIDHeader = "X-Request-Id"

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a random 16-byte hex id.
func NewRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Middleware puts the incoming request id (or a new one) in the context and
// echoes it in the response. Only well-formed ids are accepted from outside.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'; !ok {
			return false
		}
	}
	return true
}
