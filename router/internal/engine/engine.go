// Package engine executes GraphQL operations over a composed federation graph:
// it loads the composed execution config, prepares operations (parse, normalize
// and validate against the client schema, plan with a cache) and resolves them
// on the graphql-go-tools v2 resolver.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astparser"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/asttransform"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/graphql_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/introspection_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/postprocess"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/router/internal/limits"
	"supergraph/router/internal/sizedlru"
)

// upstreamReadTimeout: see the subscription client in New.
const upstreamReadTimeout = 10 * time.Minute

// Options configure an Engine.
type Options struct {
	// URLOverrides replaces subgraph routing URLs by subgraph name (deployment-specific
	// addresses; the composed config carries the development defaults).
	URLOverrides map[string]string
	// SubgraphTimeout bounds one subgraph HTTP request (retries included);
	// SubgraphTimeouts overrides it by subgraph name.
	SubgraphTimeout  time.Duration
	SubgraphTimeouts map[string]time.Duration
	// Resilience is every subgraph's breaker and retry policy (its Timeout is
	// taken from the two settings above).
	Resilience Resilience
	// Observer sees every subgraph fetch (metrics, tracing); may be nil.
	Observer FetchObserver
	// PlanCacheSize is how many prepared plans are kept, and how many
	// prepared documents, within PreparedCacheBytes (default 16 MiB).
	PlanCacheSize      int
	PreparedCacheBytes int
	// MaxConcurrency bounds concurrently resolving operations (0: library default).
	MaxConcurrency int
	// SubscriptionHeartbeat is how often idle subscriptions get a heartbeat.
	SubscriptionHeartbeat time.Duration
	// Limits stop abusive documents before normalization and planning.
	Limits limits.Limits
	// DefaultListSize is a list's assumed size when neither @listSize nor a
	// slicing argument says (default 10).
	DefaultListSize int
	// MutationBaseCost is added to every mutation's cost (0 when unset; the
	// router configures 10).
	MutationBaseCost int
	// MaxListSize is the largest list size cost estimates take a slicing
	// argument at (default 100,000): a larger first: is estimated as this.
	// The library multiplies nested list sizes in float64 and turns a
	// product past the int range into 0, so unbounded arguments could make
	// a huge document free. The router sets it one above its cost ceiling: a
	// list that long of anything with a cost is over the ceiling anyway.
	MaxListSize int
	Logger      *slog.Logger
}

// Engine plans and resolves operations for one composed graph. It is safe for
// concurrent use.
type Engine struct {
	planConfig   plan.Configuration
	routerSchema *ast.Document // the full federated schema the planner works on
	clientSchema *ast.Document // what clients may see: no @inaccessible members
	resolver     *resolve.Resolver
	subgraphs    []Subgraph
	plans        *lru.Cache[uint64, plan.Plan]
	// prepared remembers parsed, normalized and validated documents (see
	// Prepare); variables are still coerced and validated per request.
	prepared   *sizedlru.Cache[uint64, *preparedOp]
	planFlight singleflight.Group
	httpClient *http.Client
	limits     limits.Limits
	// mutationBaseCost is added to every mutation's estimate.
	mutationBaseCost int
	maxListSize      int
	cancel           context.CancelFunc
	log              *slog.Logger
}

// New builds an Engine from a composed router config.
func New(g *Graph, opts Options) (_ *Engine, err error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	e := &Engine{cancel: cancel, log: opts.Logger, limits: opts.Limits, mutationBaseCost: opts.MutationBaseCost, maxListSize: opts.MaxListSize}
	if e.routerSchema, e.clientSchema, err = parseSchemas(g); err != nil {
		return nil, err
	}

	transport := subgraphPool()
	e.httpClient = &http.Client{Timeout: opts.SubgraphTimeout, Transport: transport}
	// Subscriptions and upgrades must not carry the request timeout.
	streamingClient := &http.Client{Transport: transport}
	// Upstream WebSockets run without the library's netpoll event loop. In this
	// version its connection lifecycle leaks and deadlocks under churn: a
	// trigger stopped while its connection is still being dialled is
	// unsubscribed before the connection is registered, so the connection stays
	// open for good; and the resolver's single event loop blocks sending
	// unsubscribes into netpoll's bounded queue while netpoll's loop blocks
	// delivering updates back to the resolver, after which no subscription
	// starts or receives anything. Without netpoll each upstream connection is
	// owned by a reader bound to its trigger's context: ending the trigger
	// closes the connection, whatever the order of events, and the resolver
	// never waits on the subscription client.
	//
	// The read timeout is long on purpose: the library sets a read deadline
	// before each frame read and, on a timeout, simply reads again; when the
	// deadline fires after a frame's first bytes arrived, the rest is read as
	// a new frame ("use of reserved op code") and the subscription dies. With
	// the default 5s, idle upstreams hit that under load. Ending a
	// subscription closes its connection, which unblocks the read, so a long
	// timeout delays no cleanup.
	subscriptionClient := graphql_datasource.NewGraphQLSubscriptionClient(e.httpClient, streamingClient, ctx,
		graphql_datasource.WithNetPollConfiguration(graphql_datasource.NetPollConfiguration{Enable: false}),
		graphql_datasource.WithReadTimeout(upstreamReadTimeout))

	// Each subgraph gets a client of its own: its own timeout, circuit breaker
	// and retry budget over the shared connection pool.
	clientFor := func(name string) *http.Client {
		res := opts.Resilience
		res.Timeout = opts.SubgraphTimeout
		if d, ok := opts.SubgraphTimeouts[name]; ok && d > 0 {
			res.Timeout = d
		}
		// No Client.Timeout: the subgraph transport applies res.Timeout itself.
		return &http.Client{Transport: newSubgraphTransport(name, transport, res, opts.Observer, opts.Logger)}
	}
	e.planConfig, e.subgraphs, err = buildPlanConfiguration(g.Config, buildOptions{
		urlOverrides: opts.URLOverrides,
		clientFor:    clientFor,
		subscription: subscriptionClient,
		engineCtx:    ctx,
		costs:        g.costs,
		schema:       e.routerSchema,
		log:          opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	introspection, err := introspection_datasource.NewIntrospectionConfigFactory(e.clientSchema)
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	e.planConfig.Fields = append(e.planConfig.Fields, introspection.BuildFieldConfigurations()...)
	e.planConfig.DataSources = append(e.planConfig.DataSources, introspection.BuildDataSourceConfigurations()...)
	e.planConfig.ComputeCosts = true
	e.planConfig.StaticCostDefaultListSize = opts.DefaultListSize

	if e.plans, err = lru.New[uint64, plan.Plan](opts.PlanCacheSize); err != nil {
		return nil, err
	}
	e.prepared = sizedlru.New(opts.PlanCacheSize, opts.PreparedCacheBytes, func(_ uint64, c *preparedOp) int { return c.bytes() })
	e.resolver = resolve.New(ctx, resolve.ResolverOptions{
		MaxConcurrency:                     opts.MaxConcurrency,
		PropagateSubgraphErrors:            true,
		PropagateSubgraphStatusCodes:       true,
		SubgraphErrorPropagationMode:       resolve.SubgraphErrorPropagationModePassThrough,
		RewriteSubgraphErrorPaths:          true,
		AllowAllErrorExtensionFields:       true,
		AttachServiceNameToErrorExtensions: true,
		SubscriptionHeartbeatInterval:      opts.SubscriptionHeartbeat,
		AsyncErrorWriter:                   asyncErrorWriter{subgraphs: e.subgraphs, log: opts.Logger},
	})
	return e, nil
}

// withDefaults fills the options left unset.
func (opts Options) withDefaults() Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PlanCacheSize <= 0 {
		opts.PlanCacheSize = 1024
	}
	if opts.PreparedCacheBytes <= 0 {
		opts.PreparedCacheBytes = 16 << 20
	}
	if opts.SubgraphTimeout <= 0 {
		opts.SubgraphTimeout = 10 * time.Second
	}
	if opts.MaxListSize <= 0 {
		opts.MaxListSize = 100_000
	}
	if opts.DefaultListSize <= 0 {
		opts.DefaultListSize = 10
	}
	opts.MutationBaseCost = max(opts.MutationBaseCost, 0)
	return opts
}

// subgraphPool is the connection pool every subgraph request shares.
func subgraphPool() *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 256
	transport.Proxy = nil // subgraphs are internal; an ambient proxy setting must not reroute them
	// Subgraphs speak HTTP/1.1 over plain TCP: no HTTP/2 attempts, and enough
	// idle keep-alive connections per subgraph for a busy router's concurrency.
	transport.ForceAttemptHTTP2 = false
	transport.IdleConnTimeout = 2 * time.Minute
	return transport
}

// parseSchemas returns the federated schema the planner uses and the client
// schema validation and introspection use. The client schema differs only
// when the graph uses @inaccessible or @tag: then it hides those fields,
// which would leak otherwise.
func parseSchemas(g *Graph) (router, client *ast.Document, err error) {
	router, err = parseSchema(g.Config.GetEngineConfig().GetGraphqlSchema(), "federated schema")
	if err != nil {
		return nil, nil, err
	}
	s := g.Config.GetEngineConfig().GetGraphqlClientSchema()
	if s == "" {
		return router, router, nil
	}
	client, err = parseSchema(s, "client schema")
	return router, client, err
}

func parseSchema(sdl, name string) (*ast.Document, error) {
	doc, report := astparser.ParseGraphqlDocumentString(sdl)
	if report.HasErrors() {
		return nil, fmt.Errorf("parse %s: %w", name, report)
	}
	if err := asttransform.MergeDefinitionWithBaseSchema(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &doc, nil
}

// Subgraphs lists the subgraphs of the graph with their effective URLs.
func (e *Engine) Subgraphs() []Subgraph { return e.subgraphs }

// PreparedCacheBytes is what the prepared documents kept weigh, in bytes.
func (e *Engine) PreparedCacheBytes() int { return e.prepared.Bytes() }

// HTTPClient is the client used for subgraph requests (health checks reuse its pool).
func (e *Engine) HTTPClient() *http.Client { return e.httpClient }

// Close stops the resolver and every upstream subscription.
func (e *Engine) Close() {
	e.cancel()
	e.httpClient.CloseIdleConnections()
}

// plan returns the cached plan for a prepared operation, planning it once when
// concurrent requests race for the same new operation.
func (e *Engine) plan(op *Operation) (plan.Plan, error) {
	if p, ok := e.plans.Get(op.id); ok {
		return p, nil
	}
	v, err, _ := e.planFlight.Do(strconv.FormatUint(op.id, 16), func() (any, error) {
		// The planner is not safe for concurrent use and cheap to create.
		planner, err := plan.NewPlanner(e.planConfig)
		if err != nil {
			return nil, err
		}
		// Plan on a fresh parse of the normalized text: the plan is cached and shared,
		// so it must not point into this request's document.
		doc, report := astparser.ParseGraphqlDocumentString(op.normalized)
		if report.HasErrors() {
			return nil, fmt.Errorf("reparse normalized operation: %w", report)
		}
		p := planner.Plan(&doc, e.routerSchema, op.Name, &report)
		if report.HasErrors() {
			if len(report.ExternalErrors) == 0 {
				// A valid operation the planner cannot plan over these
				// subgraphs: the client gets a 500 without library details;
				// operators need them.
				e.log.Error("cannot plan the operation", "operation", op.Name, "hash", op.Hash(), "err", report.Error())
			}
			return nil, errorFromReport(report, http.StatusBadRequest)
		}
		postprocess.NewProcessor().Process(p)
		e.plans.Add(op.id, p)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(plan.Plan), nil
}

// ExecOptions carry what one execution needs besides the operation.
type ExecOptions struct {
	// Headers builds each subgraph request's headers; it carries the caller's
	// identity and is part of every de-duplication key.
	Headers resolve.SubgraphHeadersBuilder
	// InitialPayload gives the upstream connection_init payload of a
	// subscription to the named subgraph.
	InitialPayload func(subgraph string) []byte
	// Heartbeat makes the resolver call the subscription writer's Heartbeat when
	// a subscription is idle (SSE needs it; WebSockets ping on their own).
	Heartbeat bool
}

func (e *Engine) resolveContext(ctx context.Context, op *Operation, opts ExecOptions) (*resolve.Context, error) {
	rctx := resolve.NewContext(withUploads(withOperationType(ctx, op.Type), op.Uploads))
	vars, err := parseVariables(op.Variables)
	if err != nil {
		return nil, err
	}
	rctx.Variables = vars
	// Request.ID, VariablesHash and the headers' HashAll key inbound request
	// de-duplication: two requests share one result only when all three match.
	rctx.Request.ID = op.id
	rctx.VariablesHash = xxhash.Sum64(op.Variables)
	rctx.SubgraphHeadersBuilder = opts.Headers
	rctx.ExecutionOptions.SendHeartbeat = opts.Heartbeat
	if len(op.Uploads) > 0 {
		// Files are not part of any de-duplication key: two requests alike
		// but for their files must each send their own.
		rctx.ExecutionOptions.DisableInboundRequestDeduplication = true
		rctx.ExecutionOptions.DisableSubgraphRequestDeduplication = true
	}
	return rctx, nil
}

// ErrNotSubscription is returned by Subscribe for queries and mutations (and vice versa).
var ErrNotSubscription = errors.New("operation is not a subscription")

// Execute resolves a query or mutation and writes the GraphQL response JSON to w.
func (e *Engine) Execute(ctx context.Context, op *Operation, opts ExecOptions, w interface{ Write([]byte) (int, error) }) error {
	p, err := e.plan(op)
	if err != nil {
		return err
	}
	sync, ok := p.(*plan.SynchronousResponsePlan)
	if !ok {
		return ErrNotSubscription
	}
	rctx, err := e.resolveContext(ctx, op, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err = e.resolver.ArenaResolveGraphQLResponse(rctx, sync.Response, &buf); err != nil {
		return err
	}
	_, err = w.Write(shapeErrors(buf.Bytes()))
	return err
}

// Subscribe starts a subscription and blocks until it ends: the upstream completes,
// ctx is cancelled, or the engine closes. Updates go to w.
func (e *Engine) Subscribe(ctx context.Context, op *Operation, opts ExecOptions, w resolve.SubscriptionResponseWriter) error {
	p, err := e.plan(op)
	if err != nil {
		return err
	}
	sub, ok := p.(*plan.SubscriptionResponsePlan)
	if !ok {
		return ErrNotSubscription
	}
	rctx, err := e.resolveContext(ctx, op, opts)
	if err != nil {
		return err
	}
	setInitialPayload(rctx, sub, opts)
	return e.resolver.ResolveGraphQLSubscription(rctx, sub.Response, w)
}

// SubscribeAsync starts a subscription without holding a goroutine for it: the
// resolver writes updates to w from its own per-subscription worker and calls
// w.Complete or w.Close when the subscription ends upstream. The caller must
// call Unsubscribe(id) once it no longer wants updates: that alone ends it.
// ctx carries values only; its ending is not passed on, because the
// resolver's worker stops reading its queue when its context ends, and until
// the Unsubscribe was processed further updates filled that queue and blocked
// the resolver's event loop for every subscriber.
func (e *Engine) SubscribeAsync(ctx context.Context, op *Operation, opts ExecOptions, w resolve.SubscriptionResponseWriter, id resolve.SubscriptionIdentifier) error {
	p, err := e.plan(op)
	if err != nil {
		return err
	}
	sub, ok := p.(*plan.SubscriptionResponsePlan)
	if !ok {
		return ErrNotSubscription
	}
	rctx, err := e.resolveContext(context.WithoutCancel(ctx), op, opts)
	if err != nil {
		return err
	}
	setInitialPayload(rctx, sub, opts)
	return e.resolver.AsyncResolveGraphQLSubscription(rctx, sub.Response, w, id)
}

// setInitialPayload gives a subscription the connection_init payload for the
// subgraph its trigger subscribes to.
func setInitialPayload(rctx *resolve.Context, sub *plan.SubscriptionResponsePlan, opts ExecOptions) {
	if opts.InitialPayload != nil {
		rctx.InitialPayload = opts.InitialPayload(sub.Response.Trigger.SourceName)
	}
}

// Unsubscribe releases a subscription started with SubscribeAsync; when it was
// its trigger's last subscriber, the upstream subscription closes too. It
// never blocks.
func (e *Engine) Unsubscribe(id resolve.SubscriptionIdentifier) {
	_ = e.resolver.AsyncUnsubscribeSubscription(id)
}
