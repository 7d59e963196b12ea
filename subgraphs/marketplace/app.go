// Package marketplace is the marketplace subgraph: the product category
// tree, sellers' products, search with facets, favourites and reviews. New
// builds it from configuration; cmd/marketplace runs it.
package marketplace

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
	"supergraph/subgraphs/marketplace/graph"
	"supergraph/subgraphs/marketplace/graph/generated"
	"supergraph/subgraphs/marketplace/graph/model"
	"supergraph/subgraphs/marketplace/shop"
)

// Service is this subgraph's entry in the service registry.
var Service = services.MustSubgraph("marketplace")

// EnvPrefix prefixes every environment variable of this service.
var EnvPrefix = Service.EnvPrefix()

// Config is the marketplace service's configuration.
type Config struct {
	config.Subgraph
	// ReviewEditWindow is how long after writing it a review can be changed.
	ReviewEditWindow time.Duration `env:"REVIEW_EDIT_WINDOW" envDefault:"48h"`
	// CacheTTL bounds how long a product row or a search answer stays
	// cached in Redis; every change invalidates them at once.
	CacheTTL time.Duration `env:"CACHE_TTL" envDefault:"1m"`
	// FanOutBatch is how many users one step of a price drop's
	// notification fan-out reaches.
	FanOutBatch int `env:"FANOUT_BATCH" envDefault:"500"`
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
	if c.ReviewEditWindow < 0 {
		errs = append(errs, errors.New("REVIEW_EDIT_WINDOW must not be negative"))
	}
	if c.CacheTTL < time.Second {
		errs = append(errs, errors.New("CACHE_TTL must be at least 1s"))
	}
	if c.FanOutBatch < 1 || c.FanOutBatch > 5000 {
		errs = append(errs, errors.New("FANOUT_BATCH must be between 1 and 5000"))
	}
	return errors.Join(errs...)
}

// App is a running marketplace service.
type App struct {
	*subgraph.Base
	Domain  *shop.Service
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
	a.Domain = shop.New(pool, a.Redis, shop.Config{
		ReviewEditWindow: cfg.ReviewEditWindow, CacheTTL: cfg.CacheTTL, FanOutBatch: cfg.FanOutBatch,
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
// consumer of the service's own queue (price-drop fan-out) alongside.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeMarketplacePriceDrop, func(ctx context.Context, t *asynq.Task) error {
		var step tasks.MarketplacePriceDrop
		if err := tasks.Decode(t.Payload(), &step); err != nil {
			return errors.Join(err, asynq.SkipRetry)
		}
		return a.Domain.FanOutStep(ctx, step)
	})
	return a.Base.Serve(ctx, ln, a.handler, a.TaskServer(tasks.QueueMarketplace, mux))
}
