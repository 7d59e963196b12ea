package outbox_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
)

// A service writes the event in the transaction of the change and runs a
// relay beside its servers; rdb is a client on Redis database 3 (asynq's).
func Example() {
	var (
		ctx  context.Context
		pool *pgxpool.Pool
		rdb  *redis.Client
		log  *slog.Logger
	)
	err := pg.Transact(ctx, pool, func(tx pgx.Tx) error {
		// ... insert the user ...
		// The event id is the outbox id, hence the asynq task id: one id
		// from the commit to the worker's idempotent insert.
		eventID := uuid.New()
		_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
			EventID: eventID.String(), RecipientID: "user id", Kind: tasks.KindWelcome,
			Title: "Welcome", CreatedAt: time.Now(),
		}, outbox.WithID(eventID))
		return err
	})
	if err != nil {
		return
	}

	// Built on the service's client, which asynq then never closes; the
	// relay looks its tasks up on it until asynq has finished them.
	client := asynq.NewClientFromRedisClient(rdb)
	relay := outbox.NewRelay(pool, client, rdb, log, outbox.RelayOptions{})
	_ = relay.Run(ctx) // in the service's errgroup; returns nil once ctx is cancelled
}
