// Package content is the content subgraph: channels and their members,
// posts, threaded comments, likes, moderation and live comment and post
// feeds. New builds it from configuration; cmd/content runs it.
package content

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
	"supergraph/subgraphs/content/community"
	"supergraph/subgraphs/content/graph"
	"supergraph/subgraphs/content/graph/generated"
	"supergraph/subgraphs/content/graph/model"
)

// Service is this subgraph's entry in the service registry.
var Service = services.MustSubgraph("content")

// EnvPrefix prefixes every environment variable of this service.
var EnvPrefix = Service.EnvPrefix()

// Config is the content service's configuration.
type Config struct {
	config.Subgraph
	// FanOutBatch is how many members one step of a new post's
	// notification fan-out reaches.
	FanOutBatch int `env:"FANOUT_BATCH" envDefault:"500"`
	// CacheTTL bounds how long a channel or post row stays cached in Redis;
	// every change invalidates it at once.
	CacheTTL time.Duration `env:"CACHE_TTL" envDefault:"5m"`
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
	if c.FanOutBatch < 1 || c.FanOutBatch > 5000 {
		errs = append(errs, errors.New("FANOUT_BATCH must be between 1 and 5000"))
	}
	if c.CacheTTL < time.Second {
		errs = append(errs, errors.New("CACHE_TTL must be at least 1s"))
	}
	return errors.Join(errs...)
}

// App is a running content service.
type App struct {
	*subgraph.Base
	Domain  *community.Service
	hubs    *community.Hubs
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
	a.Domain = community.New(pool, a.Redis, community.Config{FanOutBatch: cfg.FanOutBatch, CacheTTL: cfg.CacheTTL}, a.Log)
	a.hubs = community.NewHubs(a.Redis, a.Log)
	a.Domain.SetHubs(a.hubs)
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

// Serve serves on ln until ctx is cancelled, with the outbox relay, the live
// hub and the consumer of the service's own queue (post fan-out) alongside.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeContentPostFanOut, func(ctx context.Context, t *asynq.Task) error {
		var step tasks.ContentPostFanOut
		if err := tasks.Decode(t.Payload(), &step); err != nil {
			return errors.Join(err, asynq.SkipRetry)
		}
		return a.Domain.FanOutStep(ctx, step)
	})
	return a.Base.Serve(ctx, ln, a.handler, a.hubs.Run, a.TaskServer(tasks.QueueContent, mux))
}
