package router_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/stretchr/testify/assert"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"supergraph/router"
)

// syncBuffer is a log sink safe for the router's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log records with msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func withLog(buf *syncBuffer) option {
	return func(e *env, _ *router.Config) { e.log = slog.New(slog.NewJSONHandler(buf, nil)) }
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	e := setup(t, withLog(&buf))
	id := e.userIDs()[0]
	res := e.post(`query Mine { me { username reviews { body } } }`, nil, append(bearer(e.issuer.token(id)), "X-Request-Id", "req-log-1")...)
	require.Equal(t, http.StatusOK, res.Status)
	res = e.post(`{ nope }`, nil, append(modernAccept, "X-Request-Id", "req-log-2")...)
	require.Equal(t, http.StatusBadRequest, res.Status)

	var ok, bad map[string]any
	for _, l := range buf.lines("request") {
		switch l["request_id"] {
		case "req-log-1":
			require.Nil(t, ok, "one line per request")
			ok = l
		case "req-log-2":
			bad = l
		}
	}
	require.NotNil(t, ok)
	require.Equal(t, "Mine", ok["operation_name"])
	require.Equal(t, "query", ok["operation_type"])
	require.NotEmpty(t, ok["operation_hash"])
	require.Equal(t, id, ok["principal"])
	require.Equal(t, float64(200), ok["status"])
	require.Equal(t, float64(1+1+5), ok["cost"])
	require.Contains(t, ok, "duration_ms")
	fetches, _ := ok["subgraph_fetches"].([]any)
	require.Len(t, fetches, 2, "%v", ok)
	require.Regexp(t, `^accounts:200:[0-9.]+ms$`, fetches[0])
	require.Regexp(t, `^reviews:200:[0-9.]+ms$`, fetches[1])

	require.NotNil(t, bad)
	require.Equal(t, float64(400), bad["status"])
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", bad["error_code"])
	require.Equal(t, "anonymous", bad["principal"])
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	g := &gate{}
	e := setup(t, gated("reviews", g), rateLimited(30, time.Minute), func(_ *env, c *router.Config) { c.MaxCost = 25 })
	require.Equal(t, http.StatusOK, e.post(`{ me { id } }`, nil).Status)
	require.Equal(t, http.StatusBadRequest, e.post(`{ users(first: 9) { email } }`, nil).Status)
	require.Equal(t, http.StatusOK, e.post(costly, nil).Status)
	require.Equal(t, http.StatusTooManyRequests, e.post(costly, nil).Status)
	g.mode.Store(gateCrash)
	e.post(`{ latestReview { id } }`, nil, "X-Forwarded-For", "10.9.9.9")
	c := e.dial("graphql-transport-ws", nil)
	c.init(nil)
	c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1000, intervalMs: 20) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])

	// Metrics are on the admin listener only, never on the public port.
	require.Equal(t, http.StatusNotFound, e.do(http.MethodGet, "/metrics", "", nil).Status)
	resp, err := http.Get(e.adminURL + "/metrics")
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := string(raw)
	for _, want := range []string{
		`router_requests_total{operation_type="query",status="200"} 3`, // the partial answer is a 200 too
		`router_requests_total{operation_type="query",status="429"} 1`,
		`router_request_duration_seconds_bucket{operation_type="query"`,
		`router_operation_cost_count 4`, // three queries and the subscription
		`router_rejections_total{reason="cost_limit"} 1`,
		`router_rejections_total{reason="rate_limited"} 1`,
		`router_subgraph_requests_total{outcome="ok",subgraph="accounts"}`,
		`router_subgraph_requests_total{outcome="error",subgraph="reviews"}`,
		`router_subgraph_request_duration_seconds_bucket{subgraph="accounts"`,
		`router_subgraph_circuit_state{subgraph="accounts"} 0`,
		`router_websocket_connections 1`,
		`router_subscriptions_active 1`,
		`router_rate_limit_errors_total 0`,
		`go_goroutines`,
	} {
		require.Contains(t, m, want)
	}
	requireListedMetrics(t, m) // every router metric is observed above
}

// otlpReceiver is a minimal OTLP/HTTP traces endpoint.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

func (o *otlpReceiver) byName(name string) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func TestTracingSpansPerSubgraphFetchAndTraceparent(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	e := setup(t, func(_ *env, c *router.Config) {
		c.OTLPEndpoint = srv.URL + "/v1/traces"
		c.TraceBatchTimeout = 20 * time.Millisecond
	})
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	res := e.post(`query Traced { tp: echoHeader(name: "Traceparent") latestReview { body } }`, nil,
		"Traceparent", "00-"+traceID+"-"+parentID+"-01")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	tp, _ := res.Data["tp"].(string)
	parts := strings.Split(tp, "-")
	require.Len(t, parts, 4, tp)
	require.Equal(t, traceID, parts[1], "the subgraph continues the caller's trace")
	require.NotEqual(t, parentID, parts[2], "its parent is the router's fetch span")

	require.Eventually(t, func() bool {
		return recv.byName("subgraph accounts") != nil && recv.byName("subgraph reviews") != nil && recv.byName("query Traced") != nil
	}, 5*time.Second, 20*time.Millisecond)
	server := recv.byName("query Traced")
	fetch := recv.byName("subgraph accounts")
	require.Equal(t, traceID, hex.EncodeToString(server.TraceId))
	require.Equal(t, parentID, hex.EncodeToString(server.ParentSpanId), "the server span continues the caller's")
	require.Equal(t, server.SpanId, fetch.ParentSpanId, "fetch spans are children of the request's")
	require.Equal(t, parts[2], hex.EncodeToString(fetch.SpanId), "the subgraph's traceparent names the fetch span")
}

// TestWebSocketAccessLogLineWhenItCloses: a WebSocket's access log line is
// written once, when the connection closes, with the upgrade's status.
func TestWebSocketAccessLogLineWhenItCloses(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	e := setup(t, withLog(&buf))
	c := e.dial("graphql-transport-ws", http.Header{"X-Request-Id": {"ws-log-1"}})
	c.init(nil)
	c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	logged := func() []map[string]any {
		var out []map[string]any
		for _, l := range buf.lines("request") {
			if l["request_id"] == "ws-log-1" {
				out = append(out, l)
			}
		}
		return out
	}
	require.Empty(t, logged(), "not while the connection is open")
	c.conn.CloseNow()
	require.Eventually(t, func() bool { return len(logged()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, float64(http.StatusSwitchingProtocols), logged()[0]["status"])
}

// TestOperationNameSurvivesLaterRequests: a prepared operation's name is its
// own copy, not a view into the pooled parser input that concurrent and later
// requests reuse (access logs once read "$a: " for "Mine").
func TestOperationNameSurvivesLaterRequests(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	e := setup(t, withLog(&buf))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				// A new text each time (prepared in full) and a repeated one
				// (from the prepared-operation cache), with literals to extract.
				q := fmt.Sprintf(`query Op%d { user(id: "%d") { id } latestReview { body } }`, w, i)
				if i%2 == 1 {
					q = fmt.Sprintf(`query Op%d { latestReview { body } }`, w)
				}
				res := e.post(q, nil, "X-Request-Id", fmt.Sprintf("op%d-%d", w, i))
				assert.Equal(t, http.StatusOK, res.Status, string(res.Raw))
			}
		})
	}
	wg.Wait()
	n := 0
	for _, l := range buf.lines("request") {
		id, _ := l["request_id"].(string)
		want, _, ok := strings.Cut(id, "-")
		if ok && strings.HasPrefix(want, "op") {
			require.Equal(t, "Op"+want[2:], l["operation_name"], "%v", l)
			n++
		}
	}
	require.Equal(t, 100, n)
}
