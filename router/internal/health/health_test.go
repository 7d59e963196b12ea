package health

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
)

// subgraph is a GraphQL server answering the probe, with its own health
// report beside it, as the platform's subgraphs serve them.
type subgraph struct {
	srv *httptest.Server
	// graphql is what the GraphQL endpoint answers: "ok", "error" (500) or
	// "garbage" (200 without data).
	graphql atomic.Value
	// unhealthy makes /api/health/ report "unhealthy" (503).
	unhealthy atomic.Bool
	probes    atomic.Int64
}

func newSubgraph(t *testing.T) *subgraph {
	t.Helper()
	sg := &subgraph{}
	sg.graphql.Store("ok")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		sg.probes.Add(1)
		var req struct{ Query string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Query == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch sg.graphql.Load() {
		case "error":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "garbage":
			_, _ = w.Write([]byte(`{"errors":[{"message":"no"}]}`))
		default:
			_, _ = w.Write([]byte(`{"data":{"__typename":"Query"}}`))
		}
	})
	mux.HandleFunc("GET /api/health/", func(w http.ResponseWriter, r *http.Request) {
		if sg.unhealthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unhealthy"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	})
	sg.srv = httptest.NewServer(mux)
	t.Cleanup(sg.srv.Close)
	return sg
}

func (sg *subgraph) sub(name string) Subgraph {
	return Subgraph{Name: name, URL: sg.srv.URL + "/graphql"}
}

// serve runs h once and decodes its JSON answer.
func serve(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	return rec.Code, body
}

// fresh returns a checker that probes on every request.
func fresh(opts Options) *Checker {
	opts.CacheFor = time.Nanosecond
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	return NewChecker(opts)
}

func TestReport(t *testing.T) {
	t.Parallel()
	a, b := newSubgraph(t), newSubgraph(t)
	gone := newSubgraph(t)
	gone.srv.Close()
	redisSrv := redistest.Start(t)
	opt, err := redisx.Options(redisSrv.URL(1))
	require.NoError(t, err)
	rdb := redisx.New(opt)
	t.Cleanup(func() { require.NoError(t, rdb.Close()) })

	c := fresh(Options{Subgraphs: []Subgraph{a.sub("a"), b.sub("b")}, Redis: rdb})
	report := func() (int, map[string]any) {
		code, body := serve(t, c.Report("router"))
		require.Equal(t, "router", body["service"])
		_, err := time.Parse(time.RFC3339, body["timestamp"].(string))
		require.NoError(t, err)
		return code, body
	}
	code, body := report()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "healthy", body["status"])
	require.Equal(t, "connected", body["redis"])
	require.Equal(t, map[string]any{"a": "healthy", "b": "healthy"}, body["subgraphs"])

	// A subgraph whose own dependencies are down: degraded, still 200.
	b.unhealthy.Store(true)
	code, body = report()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "degraded", body["status"])
	require.Equal(t, map[string]any{"a": "healthy", "b": StateUnhealthy}, body["subgraphs"])

	for _, answer := range []string{"error", "garbage"} {
		b.unhealthy.Store(false)
		b.graphql.Store(answer)
		code, body = report()
		require.Equal(t, http.StatusOK, code, answer)
		require.Equal(t, map[string]any{"a": "healthy", "b": StateUnhealthy}, body["subgraphs"], answer)
	}

	// Every subgraph down: unhealthy, 503.
	a.graphql.Store("error")
	code, body = report()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "unhealthy", body["status"])

	unreachable := fresh(Options{Subgraphs: []Subgraph{a.sub("a"), gone.sub("gone")}})
	a.graphql.Store("ok")
	code, body = serve(t, unreachable.Report("router"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "degraded", body["status"])
	require.Equal(t, map[string]any{"a": "healthy", "gone": StateUnreachable}, body["subgraphs"])
	require.NotContains(t, body, "redis", "no deny-list configured")

	// The deny-list's Redis down: unhealthy, whatever the subgraphs.
	redisSrv.Stop()
	b.graphql.Store("ok")
	code, body = report()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "unhealthy", body["status"])
	require.Equal(t, "disconnected", body["redis"])
}

func TestReady(t *testing.T) {
	t.Parallel()
	a, b := newSubgraph(t), newSubgraph(t)
	var notReady atomic.Pointer[error]
	keysMissing := errors.New("token signing keys not loaded yet")
	notReady.Store(&keysMissing)
	c := fresh(Options{Subgraphs: []Subgraph{a.sub("a"), b.sub("b")}, Ready: func() error {
		if err := notReady.Load(); err != nil {
			return *err
		}
		return nil
	}})

	code, body := serve(t, c.Ready())
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready", body["status"])
	require.Equal(t, "token signing keys not loaded yet", body["reason"])

	notReady.Store(nil)
	code, body = serve(t, c.Ready())
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready", body["status"])

	// A subgraph answering GraphQL but reporting its own dependencies down
	// keeps the router ready: it still serves (part of) that subgraph.
	b.unhealthy.Store(true)
	code, _ = serve(t, c.Ready())
	require.Equal(t, http.StatusOK, code)

	b.graphql.Store("error")
	code, body = serve(t, c.Ready())
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, map[string]any{"a": "healthy", "b": StateUnhealthy}, body["subgraphs"])

	code, body = serve(t, Live())
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "alive", body["status"])
}

// TestProbesAreShared: concurrent and repeated health requests within
// CacheFor cost the subgraphs one probe, so the health endpoints cannot be
// used to flood them.
func TestProbesAreShared(t *testing.T) {
	t.Parallel()
	a := newSubgraph(t)
	c := NewChecker(Options{Subgraphs: []Subgraph{a.sub("a")}, Client: &http.Client{}, CacheFor: time.Hour})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			c.Report("router").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
	serve(t, c.Ready())
	require.EqualValues(t, 1, a.probes.Load())
}

// TestProbeDoesNotWaitForever: a subgraph that never answers is
// unreachable after the probe's timeout.
func TestProbeDoesNotWaitForever(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	c := fresh(Options{Subgraphs: []Subgraph{{Name: "hung", URL: hung.URL}}, Timeout: 50 * time.Millisecond})
	code, body := serve(t, c.Report("router"))
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, map[string]any{"hung": StateUnreachable}, body["subgraphs"])
}
