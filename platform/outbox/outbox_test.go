package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/outbox"
	"supergraph/platform/outbox/store"
	"supergraph/platform/pg"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx/redistest"
	"supergraph/platform/tasks"
)

// asynqDB is the Redis database asynq uses (DESIGN §6).
const asynqDB = 3

// waitFor bounds every condition the tests wait on; conditions are polled,
// so a passing test takes only as long as the relay does.
const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

// fast makes retries and polls quick enough for tests that wait on them.
var fast = outbox.RelayOptions{
	PollInterval: 20 * time.Millisecond,
	MinBackoff:   5 * time.Millisecond,
	MaxBackoff:   50 * time.Millisecond,
}

type env struct {
	url       string
	pool      *pgxpool.Pool
	q         *store.Queries
	redis     *redistest.Server
	rdb       *redis.Client // asynq's database, failing fast
	client    *asynq.Client
	inspector *asynq.Inspector
	log       *slog.Logger
}

func setup(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	url := pgtest.URL(t, "outbox")
	pool := openPool(t, url)
	rs := redistest.Start(t)
	// Fail fast while Redis is down instead of go-redis's command and dial
	// retries (~0.5s per enqueue), so the outage test runs quickly.
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.Addr(), DB: asynqDB, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	client := asynq.NewClientFromRedisClient(rdb)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	return &env{
		url: url, pool: pool, q: store.New(pool), redis: rs, rdb: rdb, client: client, inspector: inspector,
		log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// testWriter sends the relay's log to the test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func (e *env) relay(opts outbox.RelayOptions, enq outbox.Enqueuer) *outbox.Relay {
	if enq == nil {
		enq = e.client
	}
	return outbox.NewRelay(e.pool, enq, e.rdb, e.log, opts)
}

// run starts r.Run and stops it (waiting for it to return) at the end of the test.
func run(t *testing.T, r *outbox.Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(waitFor):
			t.Error("relay did not stop")
		}
	})
}

// add commits one outbox row in its own transaction.
func (e *env) add(t *testing.T, taskType string, payload any, opts ...outbox.AddOption) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := pg.Transact(context.Background(), e.pool, func(tx pgx.Tx) error {
		var err error
		id, err = outbox.Add(context.Background(), tx, taskType, payload, opts...)
		return err
	})
	require.NoError(t, err)
	return id
}

func (e *env) row(t *testing.T, id uuid.UUID) store.Outbox {
	t.Helper()
	row, err := e.q.GetOutbox(context.Background(), id)
	require.NoError(t, err)
	return row
}

func (e *env) waitSent(t *testing.T, ids ...uuid.UUID) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			if e.row(t, id).SentAt == nil {
				return false
			}
		}
		return true
	}, waitFor, tick, "outbox rows not marked sent")
}

// tasksIn lists every pending task of queue, by id.
func (e *env) tasksIn(t *testing.T, queue string) map[string]*asynq.TaskInfo {
	t.Helper()
	list, err := e.inspector.ListPendingTasks(queue, asynq.PageSize(1000))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return map[string]*asynq.TaskInfo{}
	}
	require.NoError(t, err)
	byID := make(map[string]*asynq.TaskInfo, len(list))
	for _, ti := range list {
		require.NotContains(t, byID, ti.ID, "task id listed twice")
		byID[ti.ID] = ti
	}
	return byID
}

// requireTasks checks that queue holds exactly the tasks ids, once each.
func (e *env) requireTasks(t *testing.T, queue string, ids ...uuid.UUID) map[string]*asynq.TaskInfo {
	t.Helper()
	got := e.tasksIn(t, queue)
	require.Len(t, got, len(ids), "tasks in queue %s", queue)
	for _, id := range ids {
		require.Contains(t, got, id.String())
	}
	return got
}

// server starts an asynq server, the worker's stand-in, on the test's Redis
// with handler; it stops at the end of the test.
func (e *env) server(t *testing.T, concurrency int, handler asynq.HandlerFunc) {
	t.Helper()
	srvRedis := redis.NewClient(&redis.Options{Network: "unix", Addr: e.redis.Addr(), DB: asynqDB})
	t.Cleanup(func() { _ = srvRedis.Close() }) // after srv.Shutdown: cleanups run last-in first-out
	srv := asynq.NewServerFromRedisClient(srvRedis, asynq.Config{
		Queues: tasks.Priorities(), Concurrency: concurrency, ShutdownTimeout: time.Second,
		// An idle server looks for tasks this often (default 1s).
		TaskCheckInterval: 10 * time.Millisecond,
		LogLevel:          asynq.FatalLevel,
	})
	require.NoError(t, srv.Start(handler))
	t.Cleanup(srv.Shutdown)
}

func welcome(recipient string) tasks.NotificationDeliver {
	return tasks.NotificationDeliver{
		EventID:     uuid.NewString(),
		RecipientID: recipient,
		Kind:        tasks.KindWelcome,
		Title:       "Welcome, " + recipient,
		Body:        "Glad to have you — ünïcödé survives too.",
		Link:        "/me",
		Data:        map[string]any{"username": recipient, "n": 3.5, "tags": []any{"a", "b"}},
		CreatedAt:   time.Now().UTC().Truncate(time.Microsecond),
	}
}

// A row committed with the domain change becomes exactly one task, whose id
// is the row id and whose payload round-trips; until commit the relay cannot
// see it.
func TestCommittedRowBecomesOneTask(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.relay(fast, nil)

	eventID := uuid.New()
	payload := welcome("ada")
	payload.EventID = eventID.String()

	tx, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	// Undoes the transaction if the test stops before Commit; after it,
	// Rollback only returns pgx.ErrTxClosed.
	defer func() { _ = tx.Rollback(ctx) }()
	id, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, payload, outbox.WithID(eventID), outbox.WithMaxRetry(7))
	require.NoError(t, err)
	require.Equal(t, eventID, id)

	sent, err := r.SendDue(ctx)
	require.NoError(t, err)
	require.Zero(t, sent, "an uncommitted row must be invisible to the relay")
	require.NoError(t, tx.Commit(ctx))

	sent, err = r.SendDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, sent)

	got := e.requireTasks(t, tasks.QueueCritical, id)[id.String()]
	assert.Equal(t, tasks.TypeNotificationDeliver, got.Type)
	assert.Equal(t, 7, got.MaxRetry)
	assert.Equal(t, 24*time.Hour, got.Retention, "retention keeps the id known after completion")
	var back tasks.NotificationDeliver
	require.NoError(t, tasks.Decode(got.Payload, &back))
	assert.Equal(t, payload.CreatedAt, back.CreatedAt.UTC())
	back.CreatedAt = payload.CreatedAt
	assert.Equal(t, payload, back)

	row := e.row(t, id)
	assert.NotNil(t, row.SentAt)
	assert.EqualValues(t, 1, row.Attempts)
	assert.Nil(t, row.LastError)

	sent, err = r.SendDue(ctx)
	require.NoError(t, err)
	require.Zero(t, sent, "a sent row is not sent again")
	e.requireTasks(t, tasks.QueueCritical, id)
}

// A rolled-back transaction leaves neither a row nor a task. The relay is
// running: a later committed row proves it looked.
func TestRolledBackRowProducesNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	run(t, e.relay(fast, nil))

	errDomain := errors.New("domain change failed")
	var lost uuid.UUID
	err := pg.Transact(ctx, e.pool, func(tx pgx.Tx) error {
		var err error
		lost, err = outbox.Add(ctx, tx, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "u1"})
		require.NoError(t, err)
		return errDomain
	})
	require.ErrorIs(t, err, errDomain)

	marker := e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "u2"})
	e.waitSent(t, marker)
	e.requireTasks(t, tasks.QueueDefault, marker)
	_, err = e.q.GetOutbox(ctx, lost)
	require.ErrorIs(t, err, pgx.ErrNoRows)
}

// Add refuses what could never be delivered, inside the caller's transaction.
func TestAddRejectsInvalidPayload(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	bad := welcome("bob")
	bad.EventID = "not-a-uuid"
	err := pg.Transact(ctx, e.pool, func(tx pgx.Tx) error {
		_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, bad)
		return err
	})
	require.ErrorIs(t, err, outbox.ErrInvalid)
	require.ErrorIs(t, err, tasks.ErrInvalidPayload)

	err = pg.Transact(ctx, e.pool, func(tx pgx.Tx) error {
		_, err := outbox.Add(ctx, tx, "x:y", map[string]any{"f": func() {}})
		return err
	})
	require.ErrorIs(t, err, outbox.ErrInvalid)

	open, err := e.q.ListOpen(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, open)
}

// crashAfterEnqueue enqueues for real, then reports failure once, as if the
// relay died (or lost its database connection) before marking the row sent.
type crashAfterEnqueue struct {
	outbox.Enqueuer
	once sync.Once
}

func (c *crashAfterEnqueue) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	info, err := c.Enqueuer.EnqueueContext(ctx, task, opts...)
	crashed := false
	c.once.Do(func() { crashed = true })
	if err == nil && crashed {
		return nil, errors.New("simulated crash after enqueue")
	}
	return info, err
}

// A crash between enqueue and mark-sent re-sends the same id, which asynq
// refuses: the row ends up sent and the task exists once.
func TestCrashBetweenEnqueueAndMarkSent(t *testing.T) {
	ctx := context.Background()

	t.Run("enqueue succeeded, relay saw a failure", func(t *testing.T) {
		e := setup(t)
		r := e.relay(fast, &crashAfterEnqueue{Enqueuer: e.client})
		id := e.add(t, tasks.TypePushSend, tasks.PushSend{NotificationID: uuid.NewString(), RecipientID: "u"})

		_, err := r.SendDue(ctx)
		require.Error(t, err)
		row := e.row(t, id)
		require.Nil(t, row.SentAt)
		require.EqualValues(t, 1, row.Attempts)
		e.requireTasks(t, tasks.QueueDefault, id)

		// The row is due again after its (short) backoff.
		require.Eventually(t, func() bool {
			n, err := r.SendDue(ctx)
			require.NoError(t, err)
			return n == 1
		}, waitFor, tick)
		e.waitSent(t, id)
		e.requireTasks(t, tasks.QueueDefault, id)
		require.EqualValues(t, 2, e.row(t, id).Attempts)
	})

	t.Run("mark-sent rolled back", func(t *testing.T) {
		e := setup(t)
		r := e.relay(fast, nil)
		id := e.add(t, tasks.TypePushSend, tasks.PushSend{NotificationID: uuid.NewString(), RecipientID: "u"})
		_, err := r.SendDue(ctx)
		require.NoError(t, err)
		before := e.requireTasks(t, tasks.QueueDefault, id)[id.String()]

		// What the database holds when the batch transaction never committed.
		_, err = e.pool.Exec(ctx, "UPDATE outbox SET sent_at = NULL, next_attempt_at = created_at WHERE id = $1", id)
		require.NoError(t, err)
		n, err := r.SendDue(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the row counts as sent")
		require.NotNil(t, e.row(t, id).SentAt)
		after := e.requireTasks(t, tasks.QueueDefault, id)[id.String()]
		require.Equal(t, before.Payload, after.Payload)
	})

	t.Run("task already processed by a worker", func(t *testing.T) {
		e := setup(t)
		r := e.relay(fast, nil)
		var mu sync.Mutex
		handled := 0
		id := e.add(t, tasks.TypePushSend, tasks.PushSend{NotificationID: uuid.NewString(), RecipientID: "u"})
		_, err := r.SendDue(ctx)
		require.NoError(t, err)
		e.server(t, 1, func(context.Context, *asynq.Task) error {
			mu.Lock()
			defer mu.Unlock()
			handled++
			return nil
		})
		require.Eventually(t, func() bool {
			info, err := e.inspector.GetTaskInfo(tasks.QueueDefault, id.String())
			return err == nil && info.State == asynq.TaskStateCompleted
		}, waitFor, tick, "worker did not complete the task")

		_, err = e.pool.Exec(ctx, "UPDATE outbox SET sent_at = NULL, next_attempt_at = created_at WHERE id = $1", id)
		require.NoError(t, err)
		n, err := r.SendDue(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.NotNil(t, e.row(t, id).SentAt)
		// Refused as a conflict: nothing new is pending, the one task stays completed.
		require.Empty(t, e.tasksIn(t, tasks.QueueDefault))
		info, err := e.inspector.GetTaskInfo(tasks.QueueDefault, id.String())
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStateCompleted, info.State)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, 1, handled)
	})
}

// While Redis is down rows stay unsent with their attempts and errors
// recorded; once it is back they are delivered, once each.
func TestRedisOutageThenRecovery(t *testing.T) {
	e := setup(t)
	e.redis.Stop()
	run(t, e.relay(fast, nil))

	ids := []uuid.UUID{
		e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "a"}),
		e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "b"}),
		e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "c"}),
	}
	require.Eventually(t, func() bool {
		for _, id := range ids {
			row := e.row(t, id)
			if row.SentAt != nil {
				t.Fatalf("row %s marked sent while Redis is down", id)
			}
			if row.Attempts < 2 || row.LastError == nil || !row.NextAttemptAt.After(row.CreatedAt) {
				return false
			}
		}
		return true
	}, waitFor, tick, "failed attempts not recorded")

	e.redis.Restart()
	e.waitSent(t, ids...)
	e.requireTasks(t, tasks.QueueDefault, ids...)
	for _, id := range ids {
		row := e.row(t, id)
		assert.NotNil(t, row.LastError, "the last failure stays for operators")
	}
}

// countingEnqueuer records every enqueue outcome per task id.
type countingEnqueuer struct {
	outbox.Enqueuer
	mu        sync.Mutex
	enqueued  map[string]int
	conflicts int
}

func (c *countingEnqueuer) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	info, err := c.Enqueuer.EnqueueContext(ctx, task, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.enqueued[info.ID]++
	case errors.Is(err, asynq.ErrTaskIDConflict):
		c.conflicts++
	}
	return info, err
}

// Two relays (two replicas, each with its own pool) drain 200 rows together:
// SKIP LOCKED gives each row to one of them, so each task is enqueued once
// and not even a conflict is needed.
func TestConcurrentRelays(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const rows = 200
	ids := make([]uuid.UUID, 0, rows)
	err := pg.Transact(ctx, e.pool, func(tx pgx.Tx) error {
		for i := range rows {
			id, err := outbox.Add(ctx, tx, tasks.TypeEmailSend,
				tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: fmt.Sprint("user", i)})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	require.NoError(t, err)

	opts := fast
	opts.BatchSize = 7
	counters := make([]*countingEnqueuer, 2)
	for i := range counters {
		counters[i] = &countingEnqueuer{Enqueuer: e.client, enqueued: map[string]int{}}
		run(t, outbox.NewRelay(openPool(t, e.url), counters[i], e.rdb, e.log, opts))
	}
	e.waitSent(t, ids...)
	e.requireTasks(t, tasks.QueueDefault, ids...)

	total := map[string]int{}
	for i, c := range counters {
		c.mu.Lock()
		t.Logf("relay %d enqueued %d tasks", i, len(c.enqueued))
		assert.Zero(t, c.conflicts, "relay %d re-sent a row another relay held", i)
		for id, n := range c.enqueued {
			total[id] += n
		}
		c.mu.Unlock()
	}
	require.Len(t, total, rows)
	for id, n := range total {
		require.Equal(t, 1, n, "task %s enqueued %d times", id, n)
	}
}

// A commit wakes a running relay through NOTIFY, long before its poll.
func TestNotifyWakesRelay(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	opts := fast
	opts.PollInterval = time.Hour
	run(t, e.relay(opts, nil))

	// Wait until the relay's LISTEN is in place, or the row would be found
	// by the catch-up that follows LISTEN rather than by the notification.
	require.Eventually(t, func() bool {
		var listening bool
		err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%LISTEN outbox%')`).Scan(&listening)
		require.NoError(t, err)
		return listening
	}, waitFor, tick, "relay is not listening")

	id := e.add(t, tasks.TypePushSend, tasks.PushSend{NotificationID: uuid.NewString(), RecipientID: "u"})
	e.waitSent(t, id)
	e.requireTasks(t, tasks.QueueDefault, id)
}

// Purge deletes old confirmed rows only: a row sent long ago whose task is
// not finished is still the only durable copy of that task.
func TestPurge(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.relay(fast, nil)
	old1 := e.add(t, "test:a", json.RawMessage(`{"n":1}`))
	old2 := e.add(t, "test:a", json.RawMessage(`{"n":2}`))
	recent := e.add(t, "test:a", json.RawMessage(`{"n":3}`))
	sentOnly := e.add(t, "test:a", json.RawMessage(`{"n":4}`))
	_, err := r.SendDue(ctx)
	require.NoError(t, err)
	unsent := e.add(t, "test:a", json.RawMessage(`{"n":5}`), outbox.WithQueue(tasks.QueueLow))
	_, err = e.pool.Exec(ctx, `UPDATE outbox SET sent_at = now() - interval '3 hours',
		confirmed_at = now() - interval '2 hours' WHERE id = ANY($1)`, []uuid.UUID{old1, old2})
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, "UPDATE outbox SET confirmed_at = now() WHERE id = $1", recent)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, "UPDATE outbox SET sent_at = now() - interval '2 hours' WHERE id = $1", sentOnly)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, "UPDATE outbox SET created_at = now() - interval '2 hours' WHERE id = $1", unsent)
	require.NoError(t, err)

	n, err := r.Purge(ctx, time.Hour)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	for _, id := range []uuid.UUID{old1, old2} {
		_, err := e.q.GetOutbox(ctx, id)
		require.ErrorIs(t, err, pgx.ErrNoRows)
	}
	e.row(t, recent)
	e.row(t, sentOnly)
	e.row(t, unsent)
}
