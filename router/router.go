// Package router is the supergraph's public entry: a generic GraphQL federation
// router serving whatever subgraphs a composed graph config lists. It speaks
// GraphQL over HTTP, WebSocket and SSE, verifies end users' access tokens and
// passes identity to subgraphs only as a router-signed internal assertion.
//
// New builds a Router from a Config; tests and end-to-end suites start it
// in-process with Handler or Serve, cmd/router runs it with Run.
package router

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/cors"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/objectstore"
	"supergraph/platform/redisx"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/health"
	"supergraph/router/internal/limits"
	"supergraph/router/internal/pipeline"
	"supergraph/router/internal/playground"
	"supergraph/router/internal/ratelimit"
	"supergraph/router/internal/telemetry"
	"supergraph/router/internal/ws"
)

// Router serves the supergraph.
type Router struct {
	cfg       Config
	log       *slog.Logger
	engine    *engine.Engine
	verifier  *auth.Verifier
	deny      *redis.Client
	rdb       *redis.Client // DB 0: rate limits, persisted queries
	persisted *persistedQueries
	// pipe admits and runs every operation, whatever the transport.
	pipe    *pipeline.Pipeline
	tel     *telemetry.Telemetry
	health  *health.Checker
	ws      *ws.Handler
	handler http.Handler
	cancel  context.CancelFunc
	closed  chan struct{}
	// streams ends when the router drains: SSE subscriptions, which are
	// plain requests that would hold Shutdown until its deadline, complete
	// then, and their clients reconnect elsewhere.
	streams    context.Context
	endStreams context.CancelFunc
}

// New loads the graph config and builds the router. It does not contact the
// subgraphs or the JWKS: both may come up later.
func New(cfg Config, log *slog.Logger) (*Router, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("router config: %w", err)
	}
	graph, err := engine.ReadGraph(cfg.GraphConfig)
	if err != nil {
		return nil, err
	}
	key, err := assertionKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("assertion key: %w", err)
	}
	if cfg.UploadDir != "" && cfg.MaxUploadFiles > 0 {
		if err := os.MkdirAll(cfg.UploadDir, 0o700); err != nil {
			return nil, fmt.Errorf("upload directory: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{cfg: cfg, log: log, cancel: cancel, closed: make(chan struct{})}
	r.streams, r.endStreams = context.WithCancel(context.Background())
	if err := r.build(ctx, graph, key); err != nil {
		return nil, errors.Join(err, r.Close())
	}
	return r, nil
}

// build makes the router's parts, each from the ones before it.
func (r *Router) build(ctx context.Context, graph *engine.Graph, key ed25519.PrivateKey) error {
	cfg, log := r.cfg, r.log
	var err error
	r.tel, err = telemetry.New(telemetry.Options{
		OTLPEndpoint: cfg.OTLPEndpoint,
		SampleRatio:  cfg.TraceSampleRatio,
		BatchTimeout: cfg.TraceBatchTimeout,
	})
	if err != nil {
		return err
	}
	if r.engine, err = newEngine(cfg, graph, r.tel, log); err != nil {
		return fmt.Errorf("load graph %s: %w", cfg.GraphConfig, err)
	}
	if err := r.connectRedis(); err != nil {
		return err
	}
	r.persisted = newPersistedQueries(r.rdb, persistedQueryOptions{
		ttl:        cfg.PersistedQueryTTL,
		redisBytes: cfg.PersistedQueryRedisBytes,
		localBytes: cfg.PersistedQueryCacheBytes,
		checkQuery: r.engine.CheckQuerySize,
	}, log)
	r.tel.CacheBytes("prepared_documents", r.engine.PreparedCacheBytes)
	r.tel.CacheBytes("persisted_queries", r.persisted.bytes)
	r.verifier, err = auth.NewVerifier(ctx, auth.Options{
		JWKSURL:     cfg.JWKSURL,
		Issuer:      cfg.JWTIssuer,
		Audience:    cfg.JWTAudience,
		Deny:        r.deny,
		FailOpen:    cfg.DenyListFailOpen,
		JWKSRefresh: cfg.JWKSRefresh,
		// Verified tokens are remembered (bounded, until expiry); the
		// deny-list is still read as often as configured.
		DenyCheckInterval: cfg.DenyListCheckInterval,
		Logger:            log,
	})
	if err != nil {
		return err
	}
	r.health = r.newHealth()
	r.pipe = pipeline.New(pipeline.Options{
		Engine:                       r.engine,
		Verifier:                     r.verifier,
		Assertions:                   auth.NewAssertions(identity.NewSigner(key), 0),
		Limiter:                      r.newLimiter(),
		Telemetry:                    r.tel,
		Logger:                       log,
		MaxCost:                      cfg.MaxCost,
		RateLimitWindow:              cfg.RateLimitWindow,
		RevocationCheckInterval:      cfg.RevocationCheckInterval,
		MaxConnectionsPerIP:          cfg.MaxConnectionsPerIP,
		MaxSubscriptionsPerPrincipal: cfg.MaxSubscriptionsPerPrincipal,
		IPv6Prefix:                   cfg.RateLimitIPv6Prefix,
	})
	r.ws = ws.NewHandler(ws.Options{
		Pipeline:        r.pipe,
		ClientIP:        r.clientIP,
		Connections:     r.tel.WebSocket,
		AllowedOrigins:  cfg.CORSAllowedOrigins,
		InitTimeout:     cfg.WSInitTimeout,
		KeepAlive:       cfg.KeepAliveInterval,
		MaxMessageBytes: cfg.MaxRequestBytes,
		Logger:          log,
	})
	r.handler = r.routes()
	return nil
}

func newEngine(cfg Config, graph *engine.Graph, tel *telemetry.Telemetry, log *slog.Logger) (*engine.Engine, error) {
	return engine.New(graph, engine.Options{
		Observer:         tel,
		URLOverrides:     cfg.SubgraphURLs,
		SubgraphTimeout:  cfg.SubgraphTimeout,
		SubgraphTimeouts: cfg.SubgraphTimeouts,
		Resilience: engine.Resilience{
			BreakerFailures: cfg.BreakerFailures,
			BreakerOpenFor:  cfg.BreakerOpenTimeout,
			Retries:         cfg.SubgraphRetries,
			RetryBackoff:    cfg.RetryBackoff,
			RetryBudget:     cfg.RetryBudget,
		},
		PlanCacheSize:         cfg.PlanCacheSize,
		PreparedCacheBytes:    cfg.PreparedCacheBytes,
		SubscriptionHeartbeat: cfg.KeepAliveInterval,
		Limits: limits.Limits{
			MaxQueryBytes:        cfg.MaxQueryBytes,
			MaxTokens:            cfg.MaxTokens,
			MaxDepth:             cfg.MaxDepth,
			MaxAliases:           cfg.MaxAliases,
			MaxRootFields:        cfg.MaxRootFields,
			MaxDirectives:        cfg.MaxDirectives,
			MaxFields:            cfg.MaxFields,
			DisableIntrospection: !cfg.Introspection,
		},
		DefaultListSize:  cfg.CostDefaultListSize,
		MutationBaseCost: cfg.CostMutationBase,
		MaxListSize:      maxListSize(cfg.MaxCost),
		Logger:           log,
	})
}

// maxListSize is the largest list size cost estimates believe: one above the
// cost ceiling (a list that long of anything with a cost is over it anyway);
// without a ceiling, the engine's default.
func maxListSize(maxCost int) int {
	if maxCost <= 0 {
		return 0
	}
	return maxCost + 1
}

// connectRedis makes the deny-list's client and the one for rate limits and
// persisted queries, when configured.
func (r *Router) connectRedis() error {
	if r.cfg.DenyListRedisURL != "" {
		// Request-path timeouts and fail-fast: a hung Redis answers signed-in
		// requests at once (503, or admitted when fail-open), not after seconds.
		opt, err := redisx.Options(r.cfg.DenyListRedisURL)
		if err != nil {
			return fmt.Errorf("DENYLIST_REDIS_URL: %w", err)
		}
		opt.Protocol = 2 // RESP2: no push-notification processing per command
		r.deny = redisx.New(opt)
	}
	if r.cfg.RedisURL != "" {
		opt, err := redisx.Options(r.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		// Shorter than redisx's: the limiter's reads precede every request
		// that has no lease, and it fails open.
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 250*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
		opt.Protocol = 2
		r.rdb = redisx.New(opt)
	}
	return nil
}

// newLimiter returns the rate limiter, nil when rate limiting is off.
func (r *Router) newLimiter() *ratelimit.Limiter {
	if !r.cfg.RateLimit {
		return nil
	}
	// With the deny-list on the same server, its per-request read rides in
	// the rate limit's round trip.
	var denyDB *int
	if r.deny != nil && sameServer(r.deny.Options(), r.rdb.Options()) {
		denyDB = &r.deny.Options().DB
	}
	return ratelimit.New(ratelimit.Options{
		DenyListDB:      denyDB,
		Redis:           r.rdb,
		Window:          r.cfg.RateLimitWindow,
		AnonymousBudget: r.cfg.RateLimitAnonymous,
		UserBudget:      r.cfg.RateLimitUser,
		IPv6Prefix:      r.cfg.RateLimitIPv6Prefix,
		RoleBudgets:     r.cfg.RateLimitRoles,
		FailClosed:      r.cfg.RateLimitFailClosed,
		OnRedisError:    r.tel.RateLimitError,
		Logger:          r.log,
	})
}

func (r *Router) newHealth() *health.Checker {
	var subgraphs []health.Subgraph
	for _, sg := range r.engine.Subgraphs() {
		subgraphs = append(subgraphs, health.Subgraph{Name: sg.Name, URL: sg.URL})
	}
	return health.NewChecker(health.Options{
		Subgraphs: subgraphs,
		Client:    r.engine.HTTPClient(),
		Redis:     r.deny,
		Timeout:   r.cfg.HealthTimeout,
		Ready: func() error {
			if !r.verifier.Ready() {
				return errors.New("the users service's key set (JWKS) has not been fetched yet")
			}
			return nil
		},
	})
}

// sameServer reports whether two Redis clients reach the same server as the
// same user (their DBs may differ).
func sameServer(a, b *redis.Options) bool {
	return a.Network == b.Network && a.Addr == b.Addr && a.Username == b.Username && a.Password == b.Password &&
		(a.TLSConfig == nil) == (b.TLSConfig == nil)
}

func assertionKey(cfg Config) (ed25519.PrivateKey, error) {
	if cfg.AssertionKey != "" {
		return keys.ParsePrivate([]byte(cfg.AssertionKey))
	}
	return keys.LoadOrCreate(assertionKeyFile(cfg))
}

// assertionKeyFile is where the assertion key is kept when it is not given
// as PEM (development).
func assertionKeyFile(cfg Config) string {
	if cfg.AssertionKeyFile != "" {
		return cfg.AssertionKeyFile
	}
	return identity.DevKeyPath(cfg.DevDir)
}

func (r *Router) routes() http.Handler {
	mux := http.NewServeMux()
	gql := http.Handler(r.instrumented(r.serveGraphQL))
	if r.cfg.Playground {
		// Browsers navigating to /graphql get the playground too; everything
		// else there is GraphQL.
		gql = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if playground.WantsPage(req) && !ws.IsUpgrade(req) {
				playground.Page(w, req)
				return
			}
			r.instrumented(r.serveGraphQL)(w, req)
		})
		mux.HandleFunc("GET /{$}", playground.Page)
		mux.HandleFunc("GET "+playground.AssetsPrefix, playground.Assets)
	}
	mux.Handle("/graphql", gql)
	mux.Handle("/graphql/", gql)
	mux.Handle("GET /api/health/", r.health.Report("router"))
	mux.Handle("GET /api/health", http.RedirectHandler("/api/health/", http.StatusMovedPermanently))
	mux.Handle("GET /health/live", health.Live())
	mux.Handle("GET "+ReadyPath, r.health.Ready())
	if strings.HasPrefix(r.cfg.Media.PublicBaseURL, "/") {
		mux.Handle("GET "+objectstore.RoutePath, mediaHandler(r.cfg.Media, r.log))
	}

	var h http.Handler = mux
	if len(r.cfg.CORSAllowedOrigins) > 0 {
		// rs/cors allows every origin when given none, so it is only installed
		// with an explicit allow-list.
		h = cors.New(cors.Options{
			AllowedOrigins: r.cfg.CORSAllowedOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost},
			// The preflight headers let allowed origins upload files (see preflightHeaders).
			AllowedHeaders: append([]string{"Authorization", "Content-Type", "Accept", auth.RequestIDHeader, "Traceparent", "Tracestate"}, preflightHeaders...),
			ExposedHeaders: []string{auth.RequestIDHeader},
			MaxAge:         600,
		}).Handler(h)
	}
	return h
}

// Handler is the router's complete HTTP handler.
func (r *Router) Handler() http.Handler { return r.handler }

// AdminHandler serves what only operators may reach (metrics), on a
// listener of its own: a public ingress can never route to it by mistake.
func (r *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if r.cfg.MetricsPath != "" {
		mux.Handle("GET "+r.cfg.MetricsPath, r.tel.MetricsHandler())
	}
	return mux
}

// Run listens on the configured addresses (the public one and the admin
// one) and serves until ctx ends, then shuts down gracefully within the
// configured timeout.
func (r *Router) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", r.cfg.HTTPAddr, err)
	}
	if r.cfg.AdminAddr == "" {
		return r.Serve(ctx, ln)
	}
	admin, err := net.Listen("tcp", r.cfg.AdminAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen %s (admin): %w", r.cfg.AdminAddr, err), ln.Close())
	}
	errc := make(chan error, 1)
	go func() { errc <- r.ServeAdmin(ctx, admin) }()
	err = r.Serve(ctx, ln)
	return errors.Join(err, <-errc)
}

// ServeAdmin serves AdminHandler on ln until ctx ends; it closes ln.
func (r *Router) ServeAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: r.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	r.log.Info("router admin listening", "addr", ln.Addr().String(), "metrics", r.cfg.MetricsPath)
	return r.serveUntil(ctx, srv, ln)
}

// serveUntil serves srv on ln until ctx ends, then shuts it down within the
// configured timeout.
func (r *Router) serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// Requests still running at the deadline (hijacked WebSockets and
		// SSE streams are ended above, so these are plain requests).
		err = fmt.Errorf("router: drain http: %w", err)
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

// Serve serves on ln until ctx ends; it closes ln.
func (r *Router) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           r.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	// WebSockets are hijacked and invisible to Shutdown: close them ourselves.
	// SSE subscriptions never finish on their own: end them too.
	srv.RegisterOnShutdown(r.ws.Shutdown)
	srv.RegisterOnShutdown(r.endStreams)
	r.log.Info("router listening", "addr", ln.Addr().String())
	err := r.serveUntil(ctx, srv, ln)
	r.log.Info("router stopped", "err", err)
	return err
}

// Close releases the engine, upstream subscriptions and Redis connections.
func (r *Router) Close() error {
	select {
	case <-r.closed:
		return nil
	default:
		close(r.closed)
	}
	r.cancel()
	r.endStreams()
	if r.ws != nil {
		r.ws.Shutdown()
	}
	if r.engine != nil {
		r.engine.Close()
	}
	var errs []error
	if r.tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, r.tel.Shutdown(ctx))
		cancel()
	}
	if r.rdb != nil {
		errs = append(errs, r.rdb.Close())
	}
	if r.deny != nil {
		errs = append(errs, r.deny.Close())
	}
	return errors.Join(errs...)
}
