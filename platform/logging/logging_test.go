package logging

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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

// lockedBuffer is a bytes.Buffer a flush timer may write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Info lines wait for the flush interval; a warning goes out at once, after
// what waited before it; nothing is lost.
func TestBufferedLinesGoOutTogetherWarningsAtOnce(t *testing.T) {
	var sink lockedBuffer
	out := NewBuffered(&sink, time.Hour)
	log := New(out, "json", "info", "test")
	log.Info("first")
	log.Info("second")
	require.Empty(t, sink.String(), "info lines wait")
	log.Warn("trouble")
	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[0], `"msg":"first"`)
	require.Contains(t, lines[2], `"msg":"trouble"`)

	log.Info("third")
	require.NoError(t, out.Flush())
	require.Contains(t, sink.String(), `"msg":"third"`)

	// Without a warning, the interval sends them.
	var later lockedBuffer
	log = New(NewBuffered(&later, 10*time.Millisecond), "json", "info", "test")
	log.Info("eventually")
	require.Eventually(t, func() bool { return strings.Contains(later.String(), "eventually") }, 5*time.Second, 5*time.Millisecond)
}
