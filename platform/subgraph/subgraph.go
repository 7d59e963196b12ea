// Package subgraph is the bootstrap every subgraph shares: it opens and
// migrates the database, connects Redis and the task queue, runs the outbox
// relay and serves /graphql and /api/health/, so a subgraph's own code is
// only its schema, resolvers and domain.
package subgraph

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/config"
	"supergraph/platform/gqlserver"
	"supergraph/platform/health"
	"supergraph/platform/identity"
	"supergraph/platform/logging"
	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/redisx"
	"supergraph/platform/server"
	"supergraph/platform/tasks"
)

// Base holds a subgraph's connections.
type Base struct {
	Config config.Subgraph
	Log    *slog.Logger
	// Service is the name reported by /api/health/ (e.g. "user-service").
	Service  string
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Verifier *identity.Verifier
	// Queue enqueues tasks directly; domain events go through the outbox.
	Queue *asynq.Client
	// queueRedis lets the relay follow the tasks it enqueued until asynq has
	// finished them (the outbox package doc says why).
	queueRedis redis.UniversalClient
	relay      *outbox.Relay
	// traced is the domain's own pool when DomainPool was given a tracer.
	traced *pgxpool.Pool
}

// Open connects everything and applies the migrations of schema (the
// directory under sql/). On error, whatever was opened is closed again.
func Open(ctx context.Context, cfg config.Subgraph, schema, service string, log *slog.Logger) (b *Base, err error) {
	b = &Base{Config: cfg, Log: log, Service: service}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.Pool, err = pg.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if err = pg.Migrate(ctx, b.Pool, log, schema); err != nil {
		return nil, err
	}
	if b.Redis, err = redisx.Open(ctx, cfg.RedisURL); err != nil {
		return nil, err
	}
	pubFile := cfg.AssertionPublicKeyFile
	if pubFile == "" {
		pubFile = identity.PublicKeyPath(identity.DevKeyPath(cfg.DevDir))
	}
	if b.Verifier, err = identity.LoadVerifier(cfg.AssertionPublicKey, pubFile, schema); err != nil {
		return nil, err
	}
	queueOpt, err := redisx.AsynqOpt(cfg.QueueRedisURL)
	if err != nil {
		return nil, err
	}
	b.Queue = asynq.NewClient(queueOpt)
	b.queueRedis = queueOpt.MakeRedisClient().(redis.UniversalClient)
	b.relay = outbox.NewRelay(b.Pool, b.Queue, b.queueRedis, log, outbox.RelayOptions{})
	return b, nil
}

// DomainPool returns the pool a subgraph's domain runs on: Pool, or, when
// tracer is set (tests counting statements), a second pool with it, closed by
// Close. The bootstrap's own pool (migrations, outbox, health) stays untraced,
// so a test counts exactly the statements resolvers cause.
func (b *Base) DomainPool(ctx context.Context, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	if tracer == nil {
		return b.Pool, nil
	}
	if b.traced == nil {
		traced, err := pg.OpenTraced(ctx, b.Config.DatabaseURL, tracer)
		if err != nil {
			return nil, err
		}
		b.traced = traced
	}
	return b.traced, nil
}

// Handler serves es at /graphql and the health endpoint; routes adds a
// subgraph's own endpoints (the users JWKS, say) to the mux.
func (b *Base) Handler(es graphql.ExecutableSchema, opts gqlserver.Options, routes func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", gqlserver.New(es, b.Log, b.Verifier, opts))
	mux.Handle("GET "+health.Path, health.Handler(b.Service,
		func(ctx context.Context) error { return b.Pool.Ping(ctx) },
		func(ctx context.Context) error { return b.Redis.Ping(ctx).Err() },
	))
	if routes != nil {
		routes(mux)
	}
	return logging.Middleware(mux)
}

// Serve serves h on ln until ctx is cancelled, with the outbox relay and any
// other background loops alongside; then shuts down in order.
func (b *Base) Serve(ctx context.Context, ln net.Listener, h http.Handler, loops ...server.Background) error {
	return server.ServeListener(ctx, b.Log, ln, h, b.Config.ShutdownTimeout,
		append([]server.Background{b.relay.Run, b.purgeOutbox}, loops...)...)
}

// TaskServer returns a background loop consuming the service's own task
// queue (maintenance work the worker's scheduler asks for, such as purging
// expired tokens): the service keeps its tables to itself.
func (b *Base) TaskServer(queue string, mux *asynq.ServeMux) server.Background {
	return func(ctx context.Context) error {
		opt, err := redisx.AsynqOpt(b.Config.QueueRedisURL)
		if err != nil {
			return err
		}
		srv := asynq.NewServer(opt, asynq.Config{
			Queues:            map[string]int{queue: 1},
			Concurrency:       2,
			TaskCheckInterval: b.Config.TaskCheckInterval,
			Logger:            tasks.Logger{Log: b.Log.With("component", "tasks")},
			ShutdownTimeout:   b.Config.ShutdownTimeout,
		})
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("task server %s: %w", queue, err)
		}
		<-ctx.Done()
		srv.Shutdown()
		return nil
	}
}

// purgeOutbox deletes confirmed outbox rows after a week, hourly. Each service's
// database has its own outbox, so each service purges its own.
func (b *Base) purgeOutbox(ctx context.Context) error {
	ticker := time.NewTicker(time.Hour)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if n, err := b.relay.Purge(ctx, 7*24*time.Hour); err != nil {
				b.Log.WarnContext(ctx, "outbox purge failed", "err", err)
			} else if n > 0 {
				b.Log.InfoContext(ctx, "outbox purged", "rows", n)
			}
		}
	}
}

// Close releases the connections; call it after Serve returns. A failure to
// close one is logged: the others are closed all the same, and at shutdown
// there is nothing else to do about it.
func (b *Base) Close() {
	closed := func(what string, err error) {
		if err != nil {
			b.Log.Warn("close failed", "what", what, "err", err)
		}
	}
	if b.Queue != nil {
		closed("task queue client", b.Queue.Close())
	}
	if b.queueRedis != nil {
		closed("task queue redis client", b.queueRedis.Close())
	}
	if b.Redis != nil {
		closed("redis client", b.Redis.Close())
	}
	if b.traced != nil {
		b.traced.Close()
	}
	if b.Pool != nil {
		b.Pool.Close()
	}
}
