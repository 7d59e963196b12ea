package router

import (
	"errors"
	"fmt"
	"time"

	"supergraph/platform/config"
	"supergraph/platform/objectstore"
	"supergraph/platform/services"
)

// EnvPrefix prefixes every environment variable of the router.
const EnvPrefix = "ROUTER_"

// Config is the router's configuration, read from ROUTER_* environment variables
// by config.Load over the defaults of DefaultConfig.
type Config struct {
	config.Service

	// GraphConfig is the composed execution config (wgc router compose output).
	GraphConfig string `env:"GRAPH_CONFIG" envDefault:"graph/config.json"`
	// SubgraphURLs overrides routing URLs per subgraph: "users=http://users:8000/graphql,…".
	SubgraphURLs map[string]string `env:"SUBGRAPH_URLS" envKeyValSeparator:"="`
	// SubgraphTimeout bounds each subgraph HTTP request, retries included;
	// SubgraphTimeouts overrides it per subgraph: "users=2s,freelance=5s".
	SubgraphTimeout  time.Duration            `env:"SUBGRAPH_TIMEOUT" envDefault:"10s"`
	SubgraphTimeouts map[string]time.Duration `env:"SUBGRAPH_TIMEOUTS" envKeyValSeparator:"="`
	// BreakerFailures consecutive failed fetches open a subgraph's circuit: its
	// fields then fail fast with SUBGRAPH_UNAVAILABLE for BreakerOpenTimeout,
	// after which one probe may pass and, if it succeeds, closes it again.
	BreakerFailures    int           `env:"BREAKER_FAILURES" envDefault:"5"`
	BreakerOpenTimeout time.Duration `env:"BREAKER_OPEN_TIMEOUT" envDefault:"10s"`
	// SubgraphRetries retries failed query fetches (never mutations) on
	// connection errors and 502/503/504, with jittered exponential backoff from
	// RetryBackoff, while the retry budget (RetryBudget retries earned per
	// request) lasts.
	SubgraphRetries int           `env:"SUBGRAPH_RETRIES" envDefault:"2"`
	RetryBackoff    time.Duration `env:"RETRY_BACKOFF" envDefault:"20ms"`
	RetryBudget     float64       `env:"RETRY_BUDGET" envDefault:"0.2"`
	PlanCacheSize   int           `env:"PLAN_CACHE_SIZE" envDefault:"1024"`

	// JWKSURL is the users service's key set for access tokens.
	JWKSURL     string        `env:"JWKS_URL"`
	JWKSRefresh time.Duration `env:"JWKS_REFRESH" envDefault:"5m"`
	JWTIssuer   string        `env:"JWT_ISSUER" envDefault:"supergraph-users"`
	JWTAudience string        `env:"JWT_AUDIENCE" envDefault:"supergraph"`
	// DenyListRedisURL is the users service's Redis database holding revoked tokens.
	DenyListRedisURL string `env:"DENYLIST_REDIS_URL" secret:"url"`
	// DenyListFailOpen accepts tokens while the deny-list is unreachable.
	DenyListFailOpen bool `env:"DENYLIST_FAIL_OPEN"`
	// RevocationCheckInterval is how often long-lived subscriptions re-check the deny-list.
	RevocationCheckInterval time.Duration `env:"REVOCATION_CHECK_INTERVAL" envDefault:"30s"`
	// DenyListCheckInterval lets a token that the deny-list cleared skip the
	// deny-list for that long: one Redis round trip fewer per request (about
	// a twentieth of the router's CPU), at the price of a revocation made
	// elsewhere (another device's "sign out everywhere", a password change)
	// taking up to that long to apply. A token's own mutations (its logout)
	// make its next request read the deny-list whatever the interval. 0 reads
	// it on every request.
	DenyListCheckInterval time.Duration `env:"DENYLIST_CHECK_INTERVAL" envDefault:"1s"`

	// AssertionKey is the PEM Ed25519 key signing internal assertions (production);
	// when empty, AssertionKeyFile is loaded or generated (development), by
	// default DevDir/keys/router-assertion.pem, where subgraphs find it too.
	AssertionKey     string `env:"ASSERTION_KEY" secret:"true"`
	AssertionKeyFile string `env:"ASSERTION_KEY_FILE"`

	// CORSAllowedOrigins lists browser origins allowed to call the router; empty
	// allows none (same-origin pages such as the playground need no CORS).
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`
	// Media is the object store the router serves under /media/ when
	// MEDIA_PUBLIC_URL is a path on its own origin (development: the
	// directory the marketplace writes product images to); with an absolute
	// URL (a CDN, the bucket) the router serves no media.
	Media objectstore.Config
	// MaxRequestBytes limits a request body (and a WebSocket message), and
	// the operations field of a multipart request.
	MaxRequestBytes int64 `env:"MAX_REQUEST_BYTES" envDefault:"1048576"`
	// File uploads (GraphQL multipart requests): at most MaxUploadFiles
	// files (0 refuses multipart requests) of MaxUploadBytes each, in a body
	// of at most MaxUploadRequestBytes that must arrive within
	// UploadReadTimeout. Files are spooled to UploadDir (empty: the system's
	// temporary directory) until the request ends.
	MaxUploadBytes        int64         `env:"MAX_UPLOAD_BYTES" envDefault:"10485760"`
	MaxUploadFiles        int           `env:"MAX_UPLOAD_FILES" envDefault:"10"`
	MaxUploadRequestBytes int64         `env:"MAX_UPLOAD_REQUEST_BYTES" envDefault:"52428800"`
	UploadReadTimeout     time.Duration `env:"UPLOAD_READ_TIMEOUT" envDefault:"60s"`
	UploadDir             string        `env:"UPLOAD_DIR"`
	// MaxQueryBytes limits the query text of an operation, counted in bytes
	// as sent (comments and white space included), over every transport and
	// for persisted-query registrations; 0 disables it. Real documents are a
	// few KiB at most (GraphiQL's introspection query about one): the bound
	// keeps every cache entry and Redis value small.
	MaxQueryBytes int `env:"MAX_QUERY_BYTES" envDefault:"32768"`
	// PreparedCacheBytes bounds the prepared-document cache (PlanCacheSize
	// entries at most) by the bytes it holds.
	PreparedCacheBytes int `env:"PREPARED_CACHE_BYTES" envDefault:"16777216"`
	// Persisted queries (APQ) live in Redis DB 0 for PersistedQueryTTL after
	// they were last sent; at most PersistedQueryRedisBytes of query text is
	// written there per TTL window (DB 0 then holds at most twice that; past
	// it, queries are kept locally only). The local cache holds at most
	// PersistedQueryCacheBytes.
	PersistedQueryTTL        time.Duration `env:"PERSISTED_QUERY_TTL" envDefault:"24h"`
	PersistedQueryRedisBytes int           `env:"PERSISTED_QUERY_REDIS_BYTES" envDefault:"16777216"`
	PersistedQueryCacheBytes int           `env:"PERSISTED_QUERY_CACHE_BYTES" envDefault:"8388608"`

	// Document limits, checked before normalization and planning; 0 disables one.
	// Each rejection is a 400 naming the limit and its setting. GraphiQL's
	// introspection query is 13 deep (TypeRef's ofType chain) and about 400
	// tokens: the defaults leave it room and little else.
	MaxDepth      int `env:"MAX_DEPTH" envDefault:"15"`
	MaxAliases    int `env:"MAX_ALIASES" envDefault:"30"`
	MaxRootFields int `env:"MAX_ROOT_FIELDS" envDefault:"20"`
	MaxTokens     int `env:"MAX_TOKENS" envDefault:"5000"`
	MaxDirectives int `env:"MAX_DIRECTIVES" envDefault:"50"`
	// MaxFields bounds the fields of the operation as if every fragment were
	// inlined (each spread counts its fragment's fields again): the work
	// normalization would do. It is counted without inlining, once per
	// fragment, so refusing a fragment bomb costs no more than reading it.
	// GraphiQL's introspection query has 181 fields once its fragments are
	// inlined, the gig catalogue page 9; a document of 2,000 (through 500
	// spreads) is prepared in about 15 ms of CPU.
	MaxFields int `env:"MAX_FIELDS" envDefault:"2000"`
	// MaxBatchSize is how many operations one POST may carry as a JSON array;
	// 1 refuses batches.
	MaxBatchSize int `env:"MAX_BATCH_SIZE" envDefault:"10"`
	// Introspection answers __schema and __type; production may turn it off.
	Introspection bool `env:"INTROSPECTION" envDefault:"true"`

	// MaxCost is the per-operation ceiling of the static cost estimate (IBM cost
	// spec: @cost, @listSize); 0 disables it. Over it: COST_LIMIT_EXCEEDED.
	// A page of 20 items with a nested list of 10 costs a few hundred; the
	// ceiling leaves room for real pages and stops "first: 1000" nests.
	MaxCost int `env:"MAX_COST" envDefault:"5000"`
	// CostDefaultListSize is a list's assumed size when neither @listSize nor a
	// slicing argument gives one.
	CostDefaultListSize int `env:"COST_DEFAULT_LIST_SIZE" envDefault:"10"`
	// CostMutationBase is added to every mutation's cost.
	CostMutationBase int `env:"COST_MUTATION_BASE" envDefault:"10"`
	// ExposeCost reports extensions.cost on every response (else only when the
	// request has the X-Include-Cost header).
	ExposeCost bool `env:"EXPOSE_COST"`

	// RateLimit spends each operation's cost from its principal's budget in
	// Redis (RedisURL, database 0): user id, else client IP.
	RateLimit       bool          `env:"RATE_LIMIT" envDefault:"true"`
	RateLimitWindow time.Duration `env:"RATE_LIMIT_WINDOW" envDefault:"1m"`
	// Budgets in cost units per window: anonymous (per client IP), signed-in
	// users, and per role ("STAFF=300000,MODERATOR=60000"; a user gets the
	// largest that applies). An anonymous client may spend two full-ceiling
	// operations a minute, or a few hundred ordinary page views; STAFF tools
	// get headroom.
	RateLimitAnonymous int            `env:"RATE_LIMIT_ANONYMOUS" envDefault:"10000"`
	RateLimitUser      int            `env:"RATE_LIMIT_USER" envDefault:"30000"`
	RateLimitRoles     map[string]int `env:"RATE_LIMIT_ROLES" envKeyValSeparator:"=" envDefault:"STAFF=300000,MODERATOR=60000"`
	// RateLimitIPv6Prefix is how many leading bits of an IPv6 client address
	// name its anonymous budget: a host routinely gets a whole /64 and can
	// send from any address in it. 128 counts each address alone; IPv4
	// addresses are always counted whole.
	RateLimitIPv6Prefix int `env:"RATE_LIMIT_IPV6_PREFIX" envDefault:"64"`
	// RateLimitFailClosed refuses requests (503) while Redis is unreachable;
	// by default the router keeps serving without limits (logged and counted).
	RateLimitFailClosed bool `env:"RATE_LIMIT_FAIL_CLOSED"`
	// ClientIPHeader names the header a trusted proxy puts the client address
	// in (X-Forwarded-For, X-Real-IP); empty uses the peer address.
	ClientIPHeader string `env:"CLIENT_IP_HEADER"`

	// Playground serves GraphiQL at / and to browsers opening /graphql.
	Playground bool `env:"PLAYGROUND" envDefault:"true"`

	// MaxConnectionsPerIP bounds open WebSocket connections per client
	// address, MaxSubscriptionsPerPrincipal open subscriptions (WebSocket and
	// SSE) per user, or per client address when anonymous; 0 disables either.
	// BodyReadTimeout bounds reading a request body: a body trickled a byte at
	// a time cannot hold a goroutine and a socket for long.
	MaxConnectionsPerIP          int           `env:"MAX_CONNECTIONS_PER_IP" envDefault:"256"`
	MaxSubscriptionsPerPrincipal int           `env:"MAX_SUBSCRIPTIONS_PER_PRINCIPAL" envDefault:"100"`
	BodyReadTimeout              time.Duration `env:"BODY_READ_TIMEOUT" envDefault:"10s"`

	// AdminAddr is the listener for operators only: Prometheus metrics at
	// MetricsPath (empty turns them off). It is never the public port, and
	// defaults to loopback; empty serves no admin listener.
	AdminAddr   string `env:"ADMIN_ADDR" envDefault:"127.0.0.1:8088"`
	MetricsPath string `env:"METRICS_PATH" envDefault:"/metrics"`
	// AccessLog writes one line per request (request id, operation name and
	// hash, principal, cost, status, duration, subgraph fetches).
	AccessLog bool `env:"ACCESS_LOG" envDefault:"true"`
	// OTLPEndpoint exports traces over OTLP/HTTP (http://collector:4318/v1/traces);
	// empty exports nothing, but a caller's traceparent still reaches subgraphs.
	OTLPEndpoint      string        `env:"OTLP_ENDPOINT"`
	TraceSampleRatio  float64       `env:"TRACE_SAMPLE_RATIO" envDefault:"1"`
	TraceBatchTimeout time.Duration `env:"TRACE_BATCH_TIMEOUT" envDefault:"5s"`

	// WSInitTimeout is how long a WebSocket may wait before connection_init.
	WSInitTimeout time.Duration `env:"WS_INIT_TIMEOUT" envDefault:"10s"`
	// KeepAliveInterval paces WebSocket pings/ka and SSE heartbeats.
	KeepAliveInterval time.Duration `env:"KEEPALIVE_INTERVAL" envDefault:"15s"`

	// HealthTimeout bounds each dependency probe of the health endpoints.
	HealthTimeout time.Duration `env:"HEALTH_TIMEOUT" envDefault:"2s"`
}

// DefaultConfig returns the defaults that run the platform locally: the
// envDefault tags, and the addresses the service registry gives.
func DefaultConfig() Config {
	var c Config
	config.Defaults(&c)
	c.HTTPAddr = services.Router.Addr("") // the public endpoint: every interface
	c.RedisURL = services.Router.RedisURL(services.LocalHost)
	users := services.MustSubgraph("users")
	c.JWKSURL = "http://" + users.Addr(services.LocalHost) + "/.well-known/jwks.json"
	c.DenyListRedisURL = users.RedisURL(services.LocalHost) // the users service keeps the deny-list
	return c
}

// HealthEndpoint is what `router health` asks: readiness, the router's own
// answer to "can I take traffic" (the graph is loaded, the users service's
// key set fetched, every subgraph answers), on the public listener.
func (c Config) HealthEndpoint() (listen, path string) { return c.HTTPAddr, ReadyPath }

// ReadyPath is the router's readiness endpoint.
const ReadyPath = "/health/ready"

// Validate checks the router's settings.
func (c Config) Validate() error {
	errs := []error{c.Service.Validate(), c.Media.Validate()}
	if c.GraphConfig == "" {
		errs = append(errs, errors.New("GRAPH_CONFIG is required"))
	}
	if c.JWKSURL == "" {
		errs = append(errs, errors.New("JWKS_URL is required"))
	}
	for name, d := range map[string]time.Duration{
		"SUBGRAPH_TIMEOUT": c.SubgraphTimeout, "WS_INIT_TIMEOUT": c.WSInitTimeout,
		"KEEPALIVE_INTERVAL": c.KeepAliveInterval, "HEALTH_TIMEOUT": c.HealthTimeout,
		"REVOCATION_CHECK_INTERVAL": c.RevocationCheckInterval, "BREAKER_OPEN_TIMEOUT": c.BreakerOpenTimeout,
		"RETRY_BACKOFF": c.RetryBackoff, "PERSISTED_QUERY_TTL": c.PersistedQueryTTL,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	for name, n := range map[string]int{
		"MAX_DEPTH": c.MaxDepth, "MAX_ALIASES": c.MaxAliases, "MAX_ROOT_FIELDS": c.MaxRootFields,
		"MAX_TOKENS": c.MaxTokens, "MAX_DIRECTIVES": c.MaxDirectives, "MAX_FIELDS": c.MaxFields, "MAX_QUERY_BYTES": c.MaxQueryBytes, "MAX_COST": c.MaxCost,
		"COST_MUTATION_BASE": c.CostMutationBase, "SUBGRAPH_RETRIES": c.SubgraphRetries,
	} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative (0 disables the limit)", name))
		}
	}
	if c.RateLimit {
		if c.RedisURL == "" {
			errs = append(errs, errors.New("RATE_LIMIT needs REDIS_URL"))
		}
		if c.RateLimitWindow <= 0 || c.RateLimitAnonymous <= 0 || c.RateLimitUser <= 0 {
			errs = append(errs, errors.New("RATE_LIMIT_WINDOW, RATE_LIMIT_ANONYMOUS and RATE_LIMIT_USER must be positive"))
		}
		if c.RateLimitIPv6Prefix < 1 || c.RateLimitIPv6Prefix > 128 {
			errs = append(errs, errors.New("RATE_LIMIT_IPV6_PREFIX must be between 1 and 128"))
		}
	}
	if c.BreakerFailures < 1 {
		errs = append(errs, errors.New("BREAKER_FAILURES must be at least 1"))
	}
	if c.RetryBudget < 0 || c.RetryBudget > 1 {
		errs = append(errs, errors.New("RETRY_BUDGET must be between 0 and 1"))
	}
	if c.CostDefaultListSize < 1 {
		errs = append(errs, errors.New("COST_DEFAULT_LIST_SIZE must be at least 1"))
	}
	if c.MaxBatchSize < 1 {
		errs = append(errs, errors.New("MAX_BATCH_SIZE must be at least 1 (1 refuses batches)"))
	}
	if c.DenyListCheckInterval < 0 {
		errs = append(errs, errors.New("DENYLIST_CHECK_INTERVAL must not be negative"))
	}
	if c.PreparedCacheBytes <= 0 || c.PersistedQueryCacheBytes <= 0 || c.PersistedQueryRedisBytes <= 0 {
		errs = append(errs, errors.New("PREPARED_CACHE_BYTES, PERSISTED_QUERY_CACHE_BYTES and PERSISTED_QUERY_REDIS_BYTES must be positive"))
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("MAX_REQUEST_BYTES must be positive"))
	}
	if c.MaxUploadFiles < 0 {
		errs = append(errs, errors.New("MAX_UPLOAD_FILES must not be negative (0 refuses uploads)"))
	}
	if c.MaxUploadFiles > 0 && (c.MaxUploadBytes <= 0 || c.MaxUploadRequestBytes <= 0 || c.UploadReadTimeout <= 0) {
		errs = append(errs, errors.New("MAX_UPLOAD_BYTES, MAX_UPLOAD_REQUEST_BYTES and UPLOAD_READ_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}
