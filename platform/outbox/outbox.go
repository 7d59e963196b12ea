// Package outbox is the transactional outbox: a service calls Add inside the
// transaction that makes a domain change, and a Relay later hands the row to
// asynq, so background work starts only for committed changes and is never lost.
//
// The relay enqueues each row with its id as the asynq task id. asynq refuses
// a second task with an id it still holds, so a row sent twice (a crash
// between enqueue and marking it sent) still becomes exactly one task.
//
// Redis is not trusted to keep what it was given: a restart without
// persistence, or with the last second of an AOF lost, or a failover to a
// replica that lagged, drops tasks it had accepted. So the row, not Redis, is
// the durable copy until asynq has finished with the task. A row goes
//
//	unsent --enqueue--> sent --task completed or archived--> confirmed
//
// and the relay looks a sent row's task up (Inspector.GetTaskInfo on the
// outbox id) until it sees it finished: still queued (pending, active,
// scheduled, retry), it looks again later, ever less often; gone, Redis lost
// it, and the relay enqueues it again. Only confirmed rows are purged.
// Completed tasks are kept in Redis for RelayOptions.Retention so that the
// relay can tell "finished" from "lost". Waiting for "finished" rather than
// "seen once in Redis" is what makes this hold whatever Redis's persistence:
// a task seen pending can still be lost a moment later.
//
// Delivery is therefore at least once: a task whose handler ran but whose
// completion Redis lost (or whose completed record expired while every relay
// was down for longer than Retention) runs again, so handlers must be
// idempotent on the task id, as the worker's are on the event id. An
// operator who deletes a task that is not finished yet sees it come back:
// archive it instead.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/outbox/store"
	"supergraph/platform/tasks"
)

// Channel is the PostgreSQL NOTIFY channel Add signals and relays LISTEN on
// (spelled out again in sql/outbox/queries, which sqlc cannot parameterise).
const Channel = "outbox"

// AddOption adjusts one outbox entry.
type AddOption func(*addOptions)

type addOptions struct {
	id       uuid.UUID
	queue    string
	maxRetry *int32
}

// WithID sets the row id, which becomes the asynq task id, instead of a new
// random one. Use it when the payload must carry the id (an event id the
// worker deduplicates on) before the row is written.
func WithID(id uuid.UUID) AddOption { return func(o *addOptions) { o.id = id } }

// WithQueue sets the asynq queue (default: tasks.QueueFor(taskType)).
func WithQueue(name string) AddOption { return func(o *addOptions) { o.queue = name } }

// WithMaxRetry sets how often the worker retries the task (default: asynq's,
// 25). Negative values count as 0.
func WithMaxRetry(n int) AddOption {
	return func(o *addOptions) {
		v := int32(max(0, n))
		o.maxRetry = &v
	}
}

// ErrInvalid is returned by Add for an entry that could never be sent.
var ErrInvalid = errors.New("outbox: invalid entry")

// Add records a task of taskType in tx, the caller's transaction, and returns
// its id (the future asynq task id). The task exists only if tx commits; the
// relays are woken at commit through NOTIFY, not polled.
//
// payload is marshalled with encoding/json (a json.RawMessage is kept as is);
// if it has a Validate() error method it is validated first, so a malformed
// event fails the domain change instead of poisoning the queue.
func Add(ctx context.Context, tx pgx.Tx, taskType string, payload any, opts ...AddOption) (uuid.UUID, error) {
	o := addOptions{queue: tasks.QueueFor(taskType)}
	for _, opt := range opts {
		opt(&o)
	}
	if taskType == "" || o.queue == "" {
		return uuid.Nil, fmt.Errorf("%w: task type and queue are required", ErrInvalid)
	}
	if v, ok := payload.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return uuid.Nil, fmt.Errorf("%w: %s: %w", ErrInvalid, taskType, err)
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%w: %s payload: %w", ErrInvalid, taskType, err)
	}
	if o.id == uuid.Nil {
		// Version 7 ids sort by creation time, which keeps the primary key
		// index append-mostly and makes ids readable in order by operators.
		if o.id, err = uuid.NewV7(); err != nil {
			return uuid.Nil, fmt.Errorf("outbox: new id: %w", err)
		}
	}
	q := store.New(tx)
	err = q.InsertOutbox(ctx, store.InsertOutboxParams{
		ID:       o.id,
		TaskType: taskType,
		Payload:  body,
		Queue:    o.queue,
		MaxRetry: o.maxRetry,
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("outbox: insert %s: %w", taskType, err)
	}
	if err := q.NotifyOutbox(ctx); err != nil {
		return uuid.Nil, fmt.Errorf("outbox: notify: %w", err)
	}
	return o.id, nil
}
