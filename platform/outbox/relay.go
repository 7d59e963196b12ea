package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/outbox/store"
)

// Enqueuer is the part of *asynq.Client the relay uses; tests wrap it to
// inject failures.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// asynqQueues is the Redis set in which asynq lists queue names
// (internal/base.AllQueues); TestRedisRestartMidDeliveryLosesNothing fails
// if asynq renames it.
const asynqQueues = "asynq:queues"

// errQueue marks a failed enqueue or task lookup, already logged with its row.
var errQueue = errors.New("queue")

// RelayOptions tune a Relay; zero values take the defaults noted.
type RelayOptions struct {
	// BatchSize is how many rows one transaction claims (default 20). Small
	// batches keep row locks short and spread the backlog over replicas.
	BatchSize int
	// PollInterval is how often the relay looks for due rows without being
	// notified (default 2s): it catches notifications lost while the
	// listener reconnects, and rows whose backoff has expired.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay before a row whose enqueue
	// failed is tried again (defaults 1s and 1m); it doubles per attempt.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// EnqueueTimeout bounds one call to Redis (default 5s); BatchTimeout
	// bounds a whole batch transaction (default 30s), so a hung Redis or
	// database cannot hold row locks for long.
	EnqueueTimeout time.Duration
	BatchTimeout   time.Duration
	// CheckAfter is how long after enqueuing a row the relay first looks its
	// task up (default 5s). While the task is still queued it looks again
	// after as long as the task has been queued, at least CheckAfter and at
	// most MaxCheckInterval (default 1m): a task Redis lost is enqueued again
	// within that interval, and a task retrying for days costs a lookup a
	// minute, not one a poll.
	CheckAfter       time.Duration
	MaxCheckInterval time.Duration
	// Retention keeps a completed task (and so its id) in Redis this long
	// (asynq.Retention; default 24h, at least 2*MaxCheckInterval). The relay
	// confirms a row when it sees its task completed, so the record must
	// outlive the interval between two checks; and while asynq holds the id,
	// re-sending the row is refused as a conflict: this is the window in
	// which duplicates are impossible; beyond it the worker's idempotence on
	// the event id is the safety net.
	Retention time.Duration
}

func (o RelayOptions) withDefaults() RelayOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 20
	}
	def(&o.PollInterval, 2*time.Second)
	def(&o.MinBackoff, time.Second)
	def(&o.MaxBackoff, time.Minute)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	def(&o.EnqueueTimeout, 5*time.Second)
	def(&o.BatchTimeout, 30*time.Second)
	def(&o.CheckAfter, 5*time.Second)
	def(&o.MaxCheckInterval, time.Minute)
	o.MaxCheckInterval = max(o.MaxCheckInterval, o.CheckAfter)
	def(&o.Retention, 24*time.Hour)
	// Without the completed record a finished task looks lost and would be
	// enqueued again at every check.
	o.Retention = max(o.Retention, 2*o.MaxCheckInterval)
	return o
}

// Relay moves committed outbox rows to asynq and follows their tasks until
// asynq has finished them (see the package doc). Any number of relays may run
// on the same table (one per service replica): each batch locks its rows
// with FOR UPDATE SKIP LOCKED, so replicas never handle the same row at once.
type Relay struct {
	pool      *pgxpool.Pool
	client    Enqueuer
	rdb       redis.UniversalClient // asynq's database
	inspector *asynq.Inspector
	log       *slog.Logger
	opts      RelayOptions
}

// NewRelay returns a relay reading pool's outbox table, enqueuing through
// client (an *asynq.Client) and looking tasks up through rdb, a client of
// the same Redis database; the caller owns and closes both. Run holds one
// pool connection for LISTEN while it runs.
func NewRelay(pool *pgxpool.Pool, client Enqueuer, rdb redis.UniversalClient, log *slog.Logger, opts RelayOptions) *Relay {
	return &Relay{
		pool: pool, client: client, rdb: rdb, inspector: asynq.NewInspectorFromRedisClient(rdb),
		log: log.With("component", "outbox-relay"), opts: opts.withDefaults(),
	}
}

// Run relays rows until ctx is cancelled, then returns nil after finishing
// the batch in progress. Database and Redis failures are logged and retried,
// never returned: a relay outlives the outages of both.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { r.listen(ctx, wake) })

	ticker := time.NewTicker(r.opts.PollInterval)
	defer ticker.Stop()
	for {
		// Redis failures were logged with their row; the rest (PostgreSQL
		// unreachable, mostly) only here.
		if _, err := r.SendDue(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errQueue) {
			r.log.Warn("outbox relay: send failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-ticker.C:
		}
	}
}

// SendDue handles every due row now, batch after batch: it enqueues unsent
// rows, checks sent ones (confirming those whose task has finished and
// enqueuing again those whose task Redis lost) and reports how many tasks it
// enqueued. It stops at the first failure (most likely Redis or PostgreSQL
// is unreachable, which would fail the rest too); the failed row is backed
// off. Run calls it; tests and tools may call it directly.
func (r *Relay) SendDue(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		claimed, sent, err := r.sendBatch(ctx)
		total += sent
		if err != nil {
			return total, err
		}
		if claimed < r.opts.BatchSize {
			return total, nil
		}
	}
	return total, nil
}

// sendBatch claims up to BatchSize due rows, enqueues or checks them and
// marks them in one transaction. The row locks last until commit, so no other
// relay handles them meanwhile; a crash before commit releases them
// unmarked, and the next attempt's enqueue meets asynq's task id conflict
// instead of a duplicate.
func (r *Relay) sendBatch(ctx context.Context) (claimed, sent int, err error) {
	// Finish the batch even when Run is cancelled: abandoning it after an
	// enqueue would be safe but leaves the rows for the next start.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.BatchTimeout)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	// Unless committed: after Commit, Rollback only returns pgx.ErrTxClosed, and
	// a rollback that fails closes the connection (pgx), so the transaction
	// is over either way and the error that matters is the one returned.
	defer func() { _ = tx.Rollback(ctx) }()
	q := store.New(tx)
	rows, err := q.ClaimDue(ctx, int32(r.opts.BatchSize))
	if err != nil {
		return 0, 0, fmt.Errorf("claim: %w", err)
	}
	var (
		enqueued = make([]uuid.UUID, 0, len(rows))
		finished []uuid.UUID
		queued   []uuid.UUID
		queueErr error
	)
rows:
	for _, row := range rows {
		if row.SentAt != nil {
			fate, err := r.lookup(ctx, row)
			if err != nil {
				queueErr = fmt.Errorf("%w: look up %s %s: %w", errQueue, row.TaskType, row.ID, err)
				r.log.Warn("outbox relay: task lookup failed; checking again later", "outbox_id", row.ID,
					"task_type", row.TaskType, "err", err)
				msg := truncate(err.Error(), 2000)
				if err := q.CheckLater(ctx, r.checkLater([]uuid.UUID{row.ID}, &msg)); err != nil {
					return len(rows), 0, fmt.Errorf("check later: %w", err)
				}
				break rows // as for a failed enqueue: Redis is most likely down
			}
			switch fate {
			case taskFinished:
				finished = append(finished, row.ID)
				continue
			case taskQueued:
				queued = append(queued, row.ID)
				continue
			}
			r.log.Warn("outbox relay: task lost by Redis; enqueuing it again", "outbox_id", row.ID,
				"task_type", row.TaskType, "sent_at", *row.SentAt)
		}
		if err := r.enqueue(ctx, row); err != nil {
			queueErr = fmt.Errorf("%w: enqueue %s %s: %w", errQueue, row.TaskType, row.ID, err)
			delay := backoff(row.Attempts, r.opts.MinBackoff, r.opts.MaxBackoff)
			r.log.Warn("outbox relay: enqueue failed", "outbox_id", row.ID, "task_type", row.TaskType,
				"attempt", row.Attempts+1, "retry_in", delay, "err", err)
			msg := truncate(err.Error(), 2000)
			if err := q.MarkFailed(ctx, store.MarkFailedParams{
				ID:             row.ID,
				LastError:      &msg,
				BackoffSeconds: delay.Seconds(),
			}); err != nil {
				return len(rows), 0, fmt.Errorf("mark failed: %w", err)
			}
			// The remaining rows stay untouched (no attempt counted) and are
			// claimed again at the next wake-up or poll.
			break rows
		}
		enqueued = append(enqueued, row.ID)
	}
	if len(enqueued) > 0 {
		if err := q.MarkSent(ctx, store.MarkSentParams{Ids: enqueued, CheckAfterSeconds: r.opts.CheckAfter.Seconds()}); err != nil {
			return len(rows), 0, fmt.Errorf("mark sent: %w", err)
		}
	}
	if len(finished) > 0 {
		if err := q.MarkConfirmed(ctx, finished); err != nil {
			return len(rows), 0, fmt.Errorf("mark confirmed: %w", err)
		}
	}
	if len(queued) > 0 {
		if err := q.CheckLater(ctx, r.checkLater(queued, nil)); err != nil {
			return len(rows), 0, fmt.Errorf("check later: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		// Enqueued but not marked: the rows come back and meet the id conflict.
		return len(rows), 0, fmt.Errorf("commit: %w", err)
	}
	if len(enqueued)+len(finished) > 0 {
		r.log.Debug("outbox relay: batch done", "sent", len(enqueued), "confirmed", len(finished), "still_queued", len(queued))
	}
	return len(rows), len(enqueued), queueErr
}

// taskFate is what a lookup tells about a sent row's task.
type taskFate int

const (
	taskQueued   taskFate = iota // pending, active, scheduled, retry: check again later
	taskFinished                 // completed or archived: the row is confirmed
	taskLost                     // unknown to asynq: Redis lost it, enqueue again
)

// lookup asks asynq about a sent row's task. GetTaskInfo takes no context:
// the timeouts of the queue's Redis client bound it.
func (r *Relay) lookup(ctx context.Context, row store.ClaimDueRow) (taskFate, error) {
	info, err := r.inspector.GetTaskInfo(row.Queue, row.ID.String())
	if errors.Is(err, asynq.ErrQueueNotFound) {
		// An asynq client lists a queue at its first enqueue to it and
		// remembers that it did, for the life of the process. Redis lost the
		// list, so it lost its data, but the client does not know: a task it
		// enqueued since exists, unlisted, and the inspector would call it
		// missing forever. List the queue again as the enqueue would have.
		ctx, cancel := context.WithTimeout(ctx, r.opts.EnqueueTimeout)
		defer cancel()
		if err := r.rdb.SAdd(ctx, asynqQueues, row.Queue).Err(); err != nil {
			return 0, fmt.Errorf("list queue %s: %w", row.Queue, err)
		}
		info, err = r.inspector.GetTaskInfo(row.Queue, row.ID.String())
	}
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return taskLost, nil
	case err != nil:
		return 0, err
	case info.State == asynq.TaskStateCompleted, info.State == asynq.TaskStateArchived:
		return taskFinished, nil
	default:
		return taskQueued, nil
	}
}

func (r *Relay) checkLater(ids []uuid.UUID, lastError *string) store.CheckLaterParams {
	return store.CheckLaterParams{
		Ids:        ids,
		LastError:  lastError,
		MinSeconds: r.opts.CheckAfter.Seconds(),
		MaxSeconds: r.opts.MaxCheckInterval.Seconds(),
	}
}

func (r *Relay) enqueue(ctx context.Context, row store.ClaimDueRow) error {
	opts := []asynq.Option{asynq.TaskID(row.ID.String()), asynq.Queue(row.Queue)}
	if row.MaxRetry != nil {
		opts = append(opts, asynq.MaxRetry(int(*row.MaxRetry)))
	}
	opts = append(opts, asynq.Retention(r.opts.Retention))
	ctx, cancel := context.WithTimeout(ctx, r.opts.EnqueueTimeout)
	defer cancel()
	_, err := r.client.EnqueueContext(ctx, asynq.NewTask(row.TaskType, row.Payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		// asynq already holds this id: an earlier attempt enqueued it but
		// did not get to mark the row sent (or a lookup missed a task that
		// is back). Sending it again would be the duplicate the task id
		// exists to prevent.
		r.log.Info("outbox relay: task already enqueued; marking sent", "outbox_id", row.ID, "task_type", row.TaskType)
		return nil
	}
	return err
}

// listen wakes Run whenever a transaction that called Add commits. Losing
// the connection only delays rows until the next poll; it reconnects with
// backoff and wakes Run once, for notifications missed meanwhile.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	failures := int32(0)
	for ctx.Err() == nil {
		listening, err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if listening {
			failures = 0
		}
		delay := backoff(failures, r.opts.MinBackoff, r.opts.MaxBackoff)
		failures++
		r.log.Warn("outbox relay: listener disconnected; polling until it is back", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) (listening bool, err error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire: %w", err)
	}
	// A connection that LISTENs (or was interrupted mid-wait) must not serve
	// other queries: take it out of the pool and close it when done.
	pc := conn.Hijack()
	defer func() { _ = pc.Close(context.WithoutCancel(ctx)) }() // a connection we abandon: its close error helps no one
	if err := store.New(pc).ListenOutbox(ctx); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	signal(wake) // rows committed while we were not listening
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		signal(wake)
	}
}

// signal wakes Run without blocking; one pending wake-up covers any number
// of notifications, since Run sends everything due when it wakes.
func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// backoff returns the delay before retry number attempt+1: min doubled per
// earlier attempt, capped at max, with "equal jitter" (half fixed, half
// random) so relays and rows that failed together do not retry in lockstep,
// yet never retry immediately.
func backoff(attempt int32, minDelay, maxDelay time.Duration) time.Duration {
	d := maxDelay
	if attempt >= 0 && attempt < 32 {
		if s := minDelay << attempt; s > 0 && s < maxDelay {
			d = s
		}
	}
	return d/2 + rand.N(d/2+1)
}

// truncate shortens s to at most n bytes without splitting a character
// (PostgreSQL rejects invalid UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
