// Package notifications is the notifications subgraph: a user's in-app
// notifications, their preferences and push devices, broadcasts, and the live
// notificationAdded subscription. New builds it from configuration;
// cmd/notifications runs it. Delivery itself (storing events, e-mail, push)
// is the worker's, through the same notify package.
package notifications

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5"

	"supergraph/platform/config"
	"supergraph/platform/gqlserver"
	"supergraph/platform/services"
	"supergraph/platform/subgraph"
	"supergraph/subgraphs/notifications/graph"
	"supergraph/subgraphs/notifications/graph/generated"
	"supergraph/subgraphs/notifications/graph/model"
	"supergraph/subgraphs/notifications/notify"
)

// Service is this subgraph's entry in the service registry: its name, port,
// database and Redis database.
var Service = services.MustSubgraph("notifications")

// EnvPrefix prefixes every environment variable of this service.
var EnvPrefix = Service.EnvPrefix()

// Config is the notifications service's configuration.
type Config struct {
	config.Subgraph
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
func (c Config) Validate() error { return c.Subgraph.Validate() }

// App is a running notifications service.
type App struct {
	*subgraph.Base
	Domain  *notify.Service
	hub     *notify.Hub
	handler http.Handler
}

// New connects to PostgreSQL and Redis, applies migrations and builds the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	base, err := subgraph.Open(ctx, cfg.Subgraph, Service.Name, Service.Health, log)
	if err != nil {
		return nil, err
	}
	a := &App{Base: base, hub: notify.NewHub(base.Redis, log)}
	pool, err := base.DomainPool(ctx, cfg.QueryTracer)
	if err != nil {
		base.Close()
		return nil, err
	}
	a.Domain = notify.New(pool, base.Redis, a.hub, log)
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers: &graph.Resolver{Domain: a.Domain},
		Directives: generated.DirectiveRoot{
			SignedIn: gqlserver.SignedIn,
			HasRole:  gqlserver.HasRole[model.Role],
		},
	})
	a.handler = base.Handler(schema, gqlserver.Options{}, nil)
	return a, nil
}

// Handler serves /graphql and the health endpoint.
func (a *App) Handler() http.Handler { return a.handler }

// Serve serves on ln until ctx is cancelled, with the outbox relay and the
// live notifications hub alongside.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	return a.Base.Serve(ctx, ln, a.handler, a.hub.Run)
}
