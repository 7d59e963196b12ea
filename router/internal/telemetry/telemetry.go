// Package telemetry is the router's observability: Prometheus metrics, OpenTelemetry
// traces (a span per request and per subgraph fetch, exported over OTLP when
// configured, W3C trace context forwarded to subgraphs) and the per-request
// record the access log line is written from.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"supergraph/router/internal/engine"
)

// Options configure Telemetry.
type Options struct {
	// OTLPEndpoint is the OTLP/HTTP traces URL (http://collector:4318/v1/traces);
	// empty exports nothing (trace context is still forwarded).
	OTLPEndpoint string
	// SampleRatio samples new traces (a caller's sampled flag is followed).
	SampleRatio float64
	// BatchTimeout is how long spans wait before export.
	BatchTimeout time.Duration
}

// Telemetry holds the router's metrics and tracer.
type Telemetry struct {
	Registry *prometheus.Registry
	tracer   trace.Tracer
	provider *sdktrace.TracerProvider
	prop     propagation.TextMapPropagator

	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	cost             prometheus.Histogram
	rejections       *prometheus.CounterVec
	rateLimitErrors  prometheus.Counter
	subgraphRequests *prometheus.CounterVec
	subgraphDuration *prometheus.HistogramVec
	breaker          *prometheus.GaugeVec
	wsConnections    prometheus.Gauge
	subscriptions    prometheus.Gauge
}

// New builds the metrics and, with an endpoint, the OTLP trace exporter.
func New(opts Options) (*Telemetry, error) {
	t := &Telemetry{Registry: prometheus.NewRegistry(), prop: propagation.TraceContext{}}
	t.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { t.Registry.MustRegister(c) }

	t.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "router_requests_total", Help: "GraphQL requests by operation type and HTTP status.",
	}, []string{"operation_type", "status"})
	t.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "router_request_duration_seconds", Help: "GraphQL request latency.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"operation_type"})
	t.cost = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "router_operation_cost", Help: "Estimated static cost of admitted operations.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9),
	})
	t.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "router_rejections_total", Help: "Operations refused before execution, by reason (rate_limited, cost_limit, document_limit).",
	}, []string{"reason"})
	t.rateLimitErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "router_rate_limit_errors_total", Help: "Rate-limit decisions Redis could not make (served unchecked unless failing closed).",
	})
	t.subgraphRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "router_subgraph_requests_total", Help: "Subgraph fetch attempts by outcome (ok, error status, transport error, circuit open).",
	}, []string{"subgraph", "outcome"})
	t.subgraphDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "router_subgraph_request_duration_seconds", Help: "Subgraph fetch latency.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"subgraph"})
	t.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "router_subgraph_circuit_state", Help: "Circuit breaker state per subgraph: 0 closed, 1 half-open, 2 open.",
	}, []string{"subgraph"})
	t.wsConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "router_websocket_connections", Help: "Open WebSocket connections.",
	})
	t.subscriptions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "router_subscriptions_active", Help: "Running subscriptions (WebSocket and SSE).",
	})
	for _, c := range []prometheus.Collector{t.requests, t.duration, t.cost, t.rejections, t.rateLimitErrors,
		t.subgraphRequests, t.subgraphDuration, t.breaker, t.wsConnections, t.subscriptions} {
		f(c)
	}

	if opts.OTLPEndpoint == "" {
		// Spans are not recorded, but a caller's trace context still flows
		// through them to the subgraphs.
		t.tracer = noop.NewTracerProvider().Tracer("supergraph/router")
		return t, nil
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(opts.OTLPEndpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, _ := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("router")))
	batch := []sdktrace.BatchSpanProcessorOption{}
	if opts.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(opts.BatchTimeout))
	}
	t.provider = sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batch...),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(opts.SampleRatio))),
	)
	t.tracer = t.provider.Tracer("supergraph/router")
	return t, nil
}

// Shutdown flushes pending spans.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// MetricsHandler serves /metrics.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{})
}

// StartRequest starts the server span of one client request, continuing the
// caller's trace when the request carries a valid traceparent.
func (t *Telemetry) StartRequest(r *http.Request) (context.Context, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return t.tracer.Start(ctx, "POST /graphql", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
}

// Request records one finished request.
func (t *Telemetry) Request(opType string, status int, d time.Duration) {
	if opType == "" {
		opType = "unknown"
	}
	t.requests.WithLabelValues(opType, strconv.Itoa(status)).Inc()
	t.duration.WithLabelValues(opType).Observe(d.Seconds())
}

// Cost records an admitted operation's cost.
func (t *Telemetry) Cost(c int) { t.cost.Observe(float64(c)) }

// Rejected counts an operation refused before execution.
func (t *Telemetry) Rejected(reason string) { t.rejections.WithLabelValues(reason).Inc() }

// RateLimitError counts a decision Redis could not make.
func (t *Telemetry) RateLimitError() { t.rateLimitErrors.Inc() }

// CacheBytes reports what one of the router's caches holds, in bytes, as
// router_cache_bytes{cache=name}, read from bytes at every scrape.
func (t *Telemetry) CacheBytes(name string, bytes func() int) {
	t.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "router_cache_bytes", Help: "Bytes held by a router cache of client-supplied documents.",
		ConstLabels: prometheus.Labels{"cache": name},
	}, func() float64 { return float64(bytes()) }))
}

// WebSocket adjusts the open-connections gauge.
func (t *Telemetry) WebSocket(delta int) { t.wsConnections.Add(float64(delta)) }

// Subscription adjusts the running-subscriptions gauge.
func (t *Telemetry) Subscription(delta int) { t.subscriptions.Add(float64(delta)) }

// BreakerState implements engine.FetchObserver.
func (t *Telemetry) BreakerState(subgraph, state string) {
	v := 0.0
	switch state {
	case "half-open":
		v = 1
	case "open":
		v = 2
	}
	t.breaker.WithLabelValues(subgraph).Set(v)
}

// Fetch implements engine.FetchObserver: a client span per subgraph attempt,
// whose context becomes the subgraph request's traceparent, plus metrics and
// the request's fetch record.
func (t *Telemetry) Fetch(subgraph string, req *http.Request) (*http.Request, func(*http.Response, error)) {
	start := time.Now()
	ctx, span := t.tracer.Start(req.Context(), "subgraph "+subgraph, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("graphql.subgraph", subgraph), attribute.String("url.full", req.URL.String())))
	out := req
	if span.SpanContext().IsValid() {
		// A copy: the engine may share the header map between attempts.
		// Without a trace there is nothing to inject and no copy to pay for.
		out = req.Clone(ctx)
		out.Header.Del("Traceparent")
		out.Header.Del("Tracestate")
		t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
	}
	return out, func(resp *http.Response, err error) {
		d := time.Since(start)
		outcome, status := "ok", 0
		switch {
		case errors.Is(err, engine.ErrCircuitOpen):
			outcome = "circuit_open"
		case err != nil:
			outcome = "error"
		default:
			status = resp.StatusCode
			if status >= 400 {
				outcome = strconv.Itoa(status)
			}
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
		}
		span.End()
		t.subgraphRequests.WithLabelValues(subgraph, outcome).Inc()
		t.subgraphDuration.WithLabelValues(subgraph).Observe(d.Seconds())
		if rec := RecordFrom(req.Context()); rec != nil {
			rec.addFetch(Fetch{Subgraph: subgraph, Status: status, Outcome: outcome, Duration: d})
		}
	}
}

// Fetch is one subgraph fetch attempt in a request's record.
type Fetch struct {
	Subgraph string
	Status   int
	Outcome  string
	Duration time.Duration
}

// Record collects what the access log says about one request.
type Record struct {
	mu      sync.Mutex
	fetches []Fetch
}

type recordKey struct{}

// WithRecord returns a context collecting the subgraph fetches made for it.
func WithRecord(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, recordKey{}, r), r
}

// RecordFrom returns ctx's record, or nil.
func RecordFrom(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

func (r *Record) addFetch(f Fetch) {
	r.mu.Lock()
	r.fetches = append(r.fetches, f)
	r.mu.Unlock()
}

// Fetches returns the fetches so far, as "subgraph:status:duration" items.
func (r *Record) Fetches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.fetches))
	for i, f := range r.fetches {
		status := f.Outcome
		if f.Status != 0 {
			status = strconv.Itoa(f.Status)
		}
		out[i] = fmt.Sprintf("%s:%s:%.1fms", f.Subgraph, status, float64(f.Duration.Microseconds())/1000)
	}
	return out
}
