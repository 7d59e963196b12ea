package telemetry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"supergraph/router/internal/engine"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	tel, err := New(Options{})
	require.NoError(t, err)
	tel.Request("query", 200, 10*time.Millisecond)
	tel.Request("query", 200, 20*time.Millisecond)
	tel.Request("", 400, time.Millisecond)
	tel.Cost(42)
	tel.Rejected("rate_limited")
	tel.RateLimitError()
	tel.BreakerState("accounts", "open")
	tel.BreakerState("reviews", "half-open")
	tel.BreakerState("reviews", "closed")
	tel.WebSocket(2)
	tel.WebSocket(-1)
	tel.Subscription(3)
	held := 1234
	tel.CacheBytes("apq", func() int { return held })

	require.InDelta(t, 2, testutil.ToFloat64(tel.requests.WithLabelValues("query", "200")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(tel.requests.WithLabelValues("unknown", "400")), 0, "an operation that never parsed")
	require.InDelta(t, 1, testutil.ToFloat64(tel.rejections.WithLabelValues("rate_limited")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(tel.rateLimitErrors), 0)
	require.InDelta(t, 2, testutil.ToFloat64(tel.breaker.WithLabelValues("accounts")), 0)
	require.InDelta(t, 0, testutil.ToFloat64(tel.breaker.WithLabelValues("reviews")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(tel.wsConnections), 0)
	require.InDelta(t, 3, testutil.ToFloat64(tel.subscriptions), 0)

	// What a scrape of /metrics reads.
	srv := httptest.NewServer(tel.MetricsHandler())
	t.Cleanup(srv.Close)
	body := get(t, srv.URL)
	for _, line := range []string{
		`router_requests_total{operation_type="query",status="200"} 2`,
		`router_request_duration_seconds_count{operation_type="query"} 2`,
		`router_operation_cost_sum 42`,
		`router_cache_bytes{cache="apq"} 1234`,
		`router_subgraph_circuit_state{subgraph="accounts"} 2`,
	} {
		require.Contains(t, body, line+"\n")
	}
	held = 99
	require.Contains(t, get(t, srv.URL), `router_cache_bytes{cache="apq"} 99`+"\n", "read at every scrape")

	problems, err := testutil.GatherAndLint(tel.Registry)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { require.NoError(t, resp.Body.Close()) }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// subgraph records the traceparent of each request it receives and answers
// with status.
type subgraph struct {
	srv     *httptest.Server
	mu      sync.Mutex
	parents []string
	status  int
}

func newSubgraph(t *testing.T, status int) *subgraph {
	sg := &subgraph{status: status}
	sg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sg.mu.Lock()
		sg.parents = append(sg.parents, r.Header.Get("Traceparent"))
		sg.mu.Unlock()
		w.WriteHeader(sg.status)
	}))
	t.Cleanup(sg.srv.Close)
	return sg
}

// fetch sends req to the subgraph as the engine does, through tel.Fetch.
func fetch(t *testing.T, tel *Telemetry, ctx context.Context, name, url string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Traceparent", "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01") // stale: replaced
	out, done := tel.Fetch(name, req)
	resp, err := http.DefaultClient.Do(out)
	if resp != nil {
		require.NoError(t, resp.Body.Close())
	}
	done(resp, err)
}

var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

// TestTracesExported: with an OTLP endpoint, a request continues its
// caller's trace, each subgraph fetch is a child span whose context the
// subgraph receives, and the spans reach the collector.
func TestTracesExported(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var spans []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req collectortrace.ExportTraceServiceRequest
		b, err := io.ReadAll(r.Body)
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("collector: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, fmt.Sprintf("%s %x", s.Name, s.TraceId))
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	t.Cleanup(collector.Close)
	tel, err := New(Options{OTLPEndpoint: collector.URL + "/v1/traces", SampleRatio: 0})
	require.NoError(t, err)

	in := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	in.Header.Set("Traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	ctx, span := tel.StartRequest(in)
	require.Equal(t, callerTrace, span.SpanContext().TraceID().String(), "the caller's sampled trace is followed, whatever the ratio")

	accounts := newSubgraph(t, http.StatusOK)
	fetch(t, tel, ctx, "accounts", accounts.srv.URL)
	span.End()
	require.Len(t, accounts.parents, 1)
	m := traceparent.FindStringSubmatch(accounts.parents[0])
	require.NotNil(t, m, accounts.parents[0])
	require.Equal(t, callerTrace, m[1])
	require.NotEqual(t, span.SpanContext().SpanID().String(), m[2], "the fetch's own span")

	require.NoError(t, tel.Shutdown(t.Context()))
	mu.Lock()
	defer mu.Unlock()
	require.ElementsMatch(t, []string{"POST /graphql " + callerTrace, "subgraph accounts " + callerTrace}, spans)
}

// TestTraceContextForwardedWithoutExporter: with no endpoint nothing is
// recorded, but the caller's trace context still reaches the subgraphs; a
// request without one sends none.
func TestTraceContextForwardedWithoutExporter(t *testing.T) {
	t.Parallel()
	tel, err := New(Options{})
	require.NoError(t, err)
	sg := newSubgraph(t, http.StatusOK)

	in := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	in.Header.Set("Traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	ctx, span := tel.StartRequest(in)
	fetch(t, tel, ctx, "accounts", sg.srv.URL)
	span.End()

	ctx, span = tel.StartRequest(httptest.NewRequest(http.MethodPost, "/graphql", nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sg.srv.URL, nil)
	require.NoError(t, err)
	out, done := tel.Fetch("accounts", req)
	require.Same(t, req, out, "nothing to inject: no copy")
	done(&http.Response{StatusCode: http.StatusOK}, nil)
	span.End()

	require.Equal(t, []string{"00-" + callerTrace + "-00f067aa0ba902b7-01"}, sg.parents)
	require.NoError(t, tel.Shutdown(t.Context()))
}

// TestRecord: the fetches of a request are recorded, with their outcome, for
// its access log line, and counted by outcome.
func TestRecord(t *testing.T) {
	t.Parallel()
	tel, err := New(Options{})
	require.NoError(t, err)
	ok, failing := newSubgraph(t, http.StatusOK), newSubgraph(t, http.StatusServiceUnavailable)
	gone := newSubgraph(t, http.StatusOK)
	gone.srv.Close()

	ctx, rec := WithRecord(t.Context())
	require.Same(t, rec, RecordFrom(ctx))
	require.Nil(t, RecordFrom(t.Context()))
	fetch(t, tel, ctx, "accounts", ok.srv.URL)
	fetch(t, tel, ctx, "reviews", failing.srv.URL)
	fetch(t, tel, ctx, "gigs", gone.srv.URL)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://orders.invalid/graphql", nil)
	_, done := tel.Fetch("orders", req)
	done(nil, fmt.Errorf("orders: %w", engine.ErrCircuitOpen))

	fetches := rec.Fetches()
	require.Len(t, fetches, 4)
	for i, want := range []string{`accounts:200:`, `reviews:503:`, `gigs:error:`, `orders:circuit_open:`} {
		require.Regexp(t, "^"+want+`\d+\.\dms$`, fetches[i])
	}
	for labels, n := range map[[2]string]float64{
		{"accounts", "ok"}: 1, {"reviews", "503"}: 1, {"gigs", "error"}: 1, {"orders", "circuit_open"}: 1,
	} {
		require.InDelta(t, n, testutil.ToFloat64(tel.subgraphRequests.WithLabelValues(labels[0], labels[1])), 0, labels)
	}

	// Without a record, fetches are still counted.
	fetch(t, tel, t.Context(), "accounts", ok.srv.URL)
	require.InDelta(t, 2, testutil.ToFloat64(tel.subgraphRequests.WithLabelValues("accounts", "ok")), 0)
	require.Len(t, rec.Fetches(), 4)
}
