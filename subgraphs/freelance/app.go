// Package freelance is the freelance subgraph: the gig catalogue and its
// search, orders and their state machine, reviews, portfolios and freelancer
// statistics. New builds it from configuration; cmd/freelance runs it.
package freelance

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/config"
	"supergraph/platform/gqlserver"
	"supergraph/platform/services"
	"supergraph/platform/subgraph"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/freelance/gigs"
	"supergraph/subgraphs/freelance/graph"
	"supergraph/subgraphs/freelance/graph/generated"
	"supergraph/subgraphs/freelance/graph/model"
)

// Service is this subgraph's entry in the service registry: its name, port,
// database and Redis database.
var Service = services.MustSubgraph("freelance")

// EnvPrefix prefixes every environment variable of this service.
var EnvPrefix = Service.EnvPrefix()

// Config is the freelance service's configuration.
type Config struct {
	config.Subgraph
	// StatsCacheTTL bounds how long a freelancer's statistics stay cached;
	// order and review changes invalidate them at once.
	StatsCacheTTL time.Duration `env:"STATS_CACHE_TTL" envDefault:"10m"`
	// AutoCompleteAfter is how long an order may stay DELIVERED before the
	// platform completes it for the buyer.
	AutoCompleteAfter time.Duration `env:"AUTO_COMPLETE_AFTER" envDefault:"72h"`
	// CatalogueCacheTTL bounds how long a replica serves a catalogue first
	// page from memory; gig, package and rating changes invalidate it at
	// once. 0 turns the cache off.
	CatalogueCacheTTL time.Duration `env:"CATALOGUE_CACHE_TTL" envDefault:"10s"`
	// QueryTracer, when set (tests), sees every statement the domain runs.
	QueryTracer pgx.QueryTracer `env:"-"`
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
	if c.StatsCacheTTL < time.Second {
		errs = append(errs, errors.New("STATS_CACHE_TTL must be at least 1s"))
	}
	if c.CatalogueCacheTTL < 0 {
		errs = append(errs, errors.New("CATALOGUE_CACHE_TTL must not be negative"))
	}
	if c.AutoCompleteAfter < time.Minute {
		errs = append(errs, errors.New("AUTO_COMPLETE_AFTER must be at least 1m"))
	}
	return errors.Join(errs...)
}

// App is a running freelance service.
type App struct {
	*subgraph.Base
	Domain  *gigs.Service
	handler http.Handler
}

// New connects to PostgreSQL and Redis, applies migrations and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	base, err := subgraph.Open(ctx, cfg.Subgraph, Service.Name, Service.Health, log)
	if err != nil {
		return nil, err
	}
	a := &App{Base: base}
	if err := a.build(ctx, cfg); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, cfg Config) error {
	pool, err := a.DomainPool(ctx, cfg.QueryTracer)
	if err != nil {
		return err
	}
	a.Domain = gigs.New(pool, a.Redis, gigs.Config{
		StatsCacheTTL: cfg.StatsCacheTTL, AutoCompleteAfter: cfg.AutoCompleteAfter,
		CatalogueCacheTTL: cfg.CatalogueCacheTTL,
	}, a.Log)
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers: &graph.Resolver{Domain: a.Domain},
		Directives: generated.DirectiveRoot{
			SignedIn: gqlserver.SignedIn,
			HasRole:  gqlserver.HasRole[model.Role],
		},
	})
	a.handler = a.Base.Handler(schema, gqlserver.Options{PerOperation: graph.PerOperation(a.Domain)}, nil)
	return nil
}

// Handler serves /graphql and the health endpoint.
func (a *App) Handler() http.Handler { return a.handler }

// Serve serves on ln until ctx is cancelled, with the outbox relay and the
// consumer of the service's maintenance queue alongside.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeFreelanceAutoCompleteOrders, func(ctx context.Context, _ *asynq.Task) error {
		n, err := a.Domain.AutoCompleteDelivered(ctx)
		if n > 0 {
			a.Log.InfoContext(ctx, "auto-completed delivered orders", "orders", n)
		}
		return err
	})
	return a.Base.Serve(ctx, ln, a.handler, a.TaskServer(tasks.QueueFreelance, mux))
}
