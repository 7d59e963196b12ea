package logging

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRequestIDFlowsIntoLogs(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "json", "info", "test")
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled")
	}))

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(RequestIDHeader, "abc-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "abc-123", rec.Header().Get(RequestIDHeader))
	require.Contains(t, buf.String(), `"request_id":"abc-123"`)
	require.Contains(t, buf.String(), `"service":"test"`)

	// A malformed id from outside is replaced, never logged verbatim.
	buf.Reset()
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(RequestIDHeader, "evil\"id\nwith newline")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Len(t, rec.Header().Get(RequestIDHeader), 32)
	require.NotContains(t, buf.String(), "evil")
}
