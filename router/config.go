package router

import (
	"errors"
	"fmt"
	"time"

	"supergraph/platform/config"
)

// EnvPrefix prefixes every environment variable of the router.
const EnvPrefix = "ROUTER_"

// Config is the router's configuration, read from ROUTER_* environment variables
// by config.Load over the defaults of DefaultConfig.
type Config struct {
	config.Service

	// GraphConfig is the composed execution config (wgc router compose output).
	GraphConfig string `env:"GRAPH_CONFIG"`
	// SubgraphURLs overrides routing URLs per subgraph: "users=http://users:8000/graphql,…".
	SubgraphURLs map[string]string `env:"SUBGRAPH_URLS" envKeyValSeparator:"="`
	// SubgraphTimeout bounds each subgraph HTTP request.
	SubgraphTimeout time.Duration `env:"SUBGRAPH_TIMEOUT"`
	PlanCacheSize   int           `env:"PLAN_CACHE_SIZE"`

	// JWKSURL is the users service's key set for access tokens.
	JWKSURL     string        `env:"JWKS_URL"`
	JWKSRefresh time.Duration `env:"JWKS_REFRESH"`
	JWTIssuer   string        `env:"JWT_ISSUER"`
	JWTAudience string        `env:"JWT_AUDIENCE"`
	// DenyListRedisURL is the users service's Redis database holding revoked tokens.
	DenyListRedisURL string `env:"DENYLIST_REDIS_URL" secret:"url"`
	// DenyListFailOpen accepts tokens while the deny-list is unreachable.
	DenyListFailOpen bool `env:"DENYLIST_FAIL_OPEN"`
	// RevocationCheckInterval is how often long-lived subscriptions re-check the deny-list.
	RevocationCheckInterval time.Duration `env:"REVOCATION_CHECK_INTERVAL"`

	// AssertionKey is the PEM Ed25519 key signing internal assertions (production);
	// when empty, AssertionKeyFile is loaded or generated (development), by
	// default DevDir/keys/router-assertion.pem, where subgraphs find it too.
	AssertionKey     string `env:"ASSERTION_KEY" secret:"true"`
	AssertionKeyFile string `env:"ASSERTION_KEY_FILE"`

	// CORSAllowedOrigins lists browser origins allowed to call the router; empty
	// allows none (same-origin pages such as the playground need no CORS).
	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`
	// MaxRequestBytes limits a request body (and a WebSocket message).
	MaxRequestBytes int64 `env:"MAX_REQUEST_BYTES"`

	// WSInitTimeout is how long a WebSocket may wait before connection_init.
	WSInitTimeout time.Duration `env:"WS_INIT_TIMEOUT"`
	// KeepAliveInterval paces WebSocket pings/ka and SSE heartbeats.
	KeepAliveInterval time.Duration `env:"KEEPALIVE_INTERVAL"`

	// HealthTimeout bounds each dependency probe of the health endpoints.
	HealthTimeout time.Duration `env:"HEALTH_TIMEOUT"`
}

// DefaultConfig returns the defaults that run the platform locally.
func DefaultConfig() Config {
	return Config{
		Service: config.Service{
			HTTPAddr:        ":8080",
			RedisURL:        "redis://127.0.0.1:6379/0",
			LogFormat:       "text",
			LogLevel:        "info",
			ShutdownTimeout: 15 * time.Second,
			DevDir:          ".dev",
		},
		GraphConfig:             "graph/config.json",
		SubgraphTimeout:         10 * time.Second,
		PlanCacheSize:           1024,
		JWKSURL:                 "http://127.0.0.1:8000/.well-known/jwks.json",
		JWKSRefresh:             5 * time.Minute,
		JWTIssuer:               "supergraph-users",
		JWTAudience:             "supergraph",
		DenyListRedisURL:        "redis://127.0.0.1:6379/1",
		RevocationCheckInterval: 30 * time.Second,
		MaxRequestBytes:         1 << 20,
		WSInitTimeout:           10 * time.Second,
		KeepAliveInterval:       15 * time.Second,
		HealthTimeout:           2 * time.Second,
	}
}

// LoadConfig reads the router's configuration from the environment.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg, EnvPrefix); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the router's settings.
func (c Config) Validate() error {
	errs := []error{c.Service.Validate()}
	if c.GraphConfig == "" {
		errs = append(errs, errors.New("GRAPH_CONFIG is required"))
	}
	if c.JWKSURL == "" {
		errs = append(errs, errors.New("JWKS_URL is required"))
	}
	for name, d := range map[string]time.Duration{
		"SUBGRAPH_TIMEOUT": c.SubgraphTimeout, "WS_INIT_TIMEOUT": c.WSInitTimeout,
		"KEEPALIVE_INTERVAL": c.KeepAliveInterval, "HEALTH_TIMEOUT": c.HealthTimeout,
		"REVOCATION_CHECK_INTERVAL": c.RevocationCheckInterval,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if c.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("MAX_REQUEST_BYTES must be positive"))
	}
	return errors.Join(errs...)
}
