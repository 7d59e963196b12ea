// Package users is the users subgraph: accounts, sign-in, tokens, profiles
// and roles. New builds it from configuration; cmd/users runs it.
package users

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"supergraph/platform/config"
	"supergraph/platform/gqlserver"
	"supergraph/platform/keys"
	"supergraph/platform/services"
	"supergraph/platform/subgraph"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/users/account"
	"supergraph/subgraphs/users/graph"
	"supergraph/subgraphs/users/graph/generated"
	"supergraph/subgraphs/users/graph/model"
)

// Service is this subgraph's entry in the service registry: its name, port,
// database and Redis database.
var Service = services.MustSubgraph("users")

// EnvPrefix prefixes every environment variable of this service.
var EnvPrefix = Service.EnvPrefix()

// Config is the users service's configuration.
type Config struct {
	config.Subgraph
	// JWTSigningKey is the Ed25519 private key (PKCS#8 PEM) that signs access
	// tokens; empty in development, where one is generated into DevDir.
	JWTSigningKey string `env:"JWT_SIGNING_KEY" secret:"true"`
	// JWTPreviousKeys are public keys (PEM, concatenated) of rotated-out
	// signing keys, published until the tokens they signed have expired.
	JWTPreviousKeys string        `env:"JWT_PREVIOUS_KEYS"`
	JWTIssuer       string        `env:"JWT_ISSUER" envDefault:"supergraph-users"`
	JWTAudience     string        `env:"JWT_AUDIENCE" envDefault:"supergraph"`
	AccessTokenTTL  time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	ProfileCacheTTL time.Duration `env:"PROFILE_CACHE_TTL" envDefault:"5m"`
	// PasswordHashMemoryKiB is argon2id's memory cost.
	PasswordHashMemoryKiB uint32 `env:"PASSWORD_HASH_MEMORY_KIB" envDefault:"65536"`
	// MaxConcurrentHashes bounds password hashes running at once (each takes
	// PasswordHashMemoryKiB); one waits at most HashWait for its turn, then
	// the request is answered RATE_LIMITED.
	MaxConcurrentHashes int           `env:"MAX_CONCURRENT_HASHES" envDefault:"4"`
	HashWait            time.Duration `env:"HASH_WAIT" envDefault:"2s"`
	// Password attempts per account (per e-mail address while it has none):
	// LoginFreeAttempts within LoginThrottleWindow are free, then each
	// attempt waits twice as long as the one before, up to LoginMaxDelay; a
	// success clears the count (account.Throttle).
	LoginFreeAttempts   int           `env:"LOGIN_FREE_ATTEMPTS" envDefault:"5"`
	LoginThrottleWindow time.Duration `env:"LOGIN_THROTTLE_WINDOW" envDefault:"15m"`
	LoginMaxDelay       time.Duration `env:"LOGIN_MAX_DELAY" envDefault:"15m"`
	// SeedPassword is the development password of the seeded demo accounts.
	SeedPassword string `env:"SEED_PASSWORD" envDefault:"supergraph-dev-password" secret:"true"`
}

// DefaultConfig returns the defaults that run locally.
func DefaultConfig() Config {
	var c Config
	config.Defaults(&c)
	Service.LocalDefaults(&c.Subgraph)
	return c
}

// Validate checks the settings.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Subgraph.Validate())
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		errs = append(errs, errors.New("ACCESS_TOKEN_TTL must be between 1m and 24h"))
	}
	if c.RefreshTokenTTL < c.AccessTokenTTL {
		errs = append(errs, errors.New("REFRESH_TOKEN_TTL must not be shorter than ACCESS_TOKEN_TTL"))
	}
	if c.MaxConcurrentHashes < 1 {
		errs = append(errs, errors.New("MAX_CONCURRENT_HASHES must be at least 1"))
	}
	if c.LoginFreeAttempts < 1 || c.LoginMaxDelay < time.Second {
		errs = append(errs, errors.New("LOGIN_FREE_ATTEMPTS must be at least 1 and LOGIN_MAX_DELAY at least 1s"))
	}
	if c.PasswordHashMemoryKiB < 8*1024 {
		errs = append(errs, errors.New("PASSWORD_HASH_MEMORY_KIB must be at least 8192"))
	}
	return errors.Join(errs...)
}

// App is a running users service.
type App struct {
	*subgraph.Base
	Domain  *account.Service
	handler http.Handler
}

// New connects to PostgreSQL and Redis, applies migrations and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	base, err := subgraph.Open(ctx, cfg.Subgraph, Service.Name, Service.Health, log)
	if err != nil {
		return nil, err
	}
	a := &App{Base: base}
	if err := a.build(cfg); err != nil {
		base.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(cfg Config) error {
	signingKeys, err := loadSigningKeys(cfg)
	if err != nil {
		return err
	}
	params := account.DefaultPasswordParams
	params.Memory = cfg.PasswordHashMemoryKiB
	passwords, err := account.NewPasswords(params, cfg.MaxConcurrentHashes, cfg.HashWait)
	if err != nil {
		return err
	}
	issuer := account.NewIssuer(signingKeys, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTokenTTL)
	a.Domain = account.New(a.Pool, a.Redis, issuer, passwords, account.Config{
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, CacheTTL: cfg.ProfileCacheTTL,
		Throttle: account.ThrottleOptions{FreeAttempts: cfg.LoginFreeAttempts, Window: cfg.LoginThrottleWindow, MaxDelay: cfg.LoginMaxDelay},
	}, a.Log)
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers: &graph.Resolver{Domain: a.Domain},
		Directives: generated.DirectiveRoot{
			SignedIn: gqlserver.SignedIn,
			HasRole:  gqlserver.HasRole[model.Role],
		},
	})
	a.handler = a.Base.Handler(schema, gqlserver.Options{}, func(mux *http.ServeMux) {
		mux.Handle("GET /.well-known/jwks.json", signingKeys)
	})
	return nil
}

// Handler serves /graphql, the JWKS and the health endpoint.
func (a *App) Handler() http.Handler { return a.handler }

// Serve serves on ln until ctx is cancelled, with the outbox relay and the
// consumer of the service's maintenance queue alongside.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeUsersPurgeExpiredTokens, func(ctx context.Context, _ *asynq.Task) error {
		n, err := a.Domain.PurgeExpiredTokens(ctx)
		if err == nil {
			a.Log.InfoContext(ctx, "purged expired refresh tokens", "rows", n)
		}
		return err
	})
	return a.Base.Serve(ctx, ln, a.handler, a.TaskServer(tasks.QueueUsers, mux))
}

func loadSigningKeys(cfg Config) (*account.Keys, error) {
	var signing ed25519.PrivateKey
	var err error
	if cfg.JWTSigningKey != "" {
		signing, err = keys.ParsePrivate([]byte(cfg.JWTSigningKey))
	} else {
		signing, err = keys.LoadOrCreate(filepath.Join(cfg.DevDir, "keys", "users-jwt.pem"))
	}
	if err != nil {
		return nil, fmt.Errorf("JWT signing key: %w", err)
	}
	var previous []ed25519.PublicKey
	rest := []byte(cfg.JWTPreviousKeys)
	for len(strings.TrimSpace(string(rest))) > 0 {
		block, next, ok := strings.Cut(string(rest), "-----END PUBLIC KEY-----")
		if !ok {
			return nil, errors.New("JWT_PREVIOUS_KEYS: expected PEM public keys")
		}
		pub, err := keys.ParsePublic([]byte(block + "-----END PUBLIC KEY-----"))
		if err != nil {
			return nil, fmt.Errorf("JWT_PREVIOUS_KEYS: %w", err)
		}
		previous = append(previous, pub)
		rest = []byte(next)
	}
	return account.NewKeys(signing, previous)
}
