package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/outbox"
	"supergraph/platform/tasks"
)

// checkQuickly makes the relay look sent rows' tasks up within milliseconds.
func checkQuickly() outbox.RelayOptions {
	opts := fast
	opts.CheckAfter = 20 * time.Millisecond
	opts.MaxCheckInterval = 100 * time.Millisecond
	return opts
}

func (e *env) waitConfirmed(t *testing.T, ids ...uuid.UUID) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			if e.row(t, id).ConfirmedAt == nil {
				return false
			}
		}
		return true
	}, waitFor, tick, "outbox rows not confirmed")
}

// A sent row stays open while its task is queued and is confirmed once asynq
// has finished it, completed or archived; looking it up is no enqueue
// attempt.
func TestRowConfirmedOnlyOnceTaskFinished(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.relay(checkQuickly(), nil)
	ok := e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "ok"})
	doomed := e.add(t, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: "doomed"},
		outbox.WithMaxRetry(0))
	n, err := r.SendDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// No worker yet: every check finds the tasks pending.
	firstCheck := e.row(t, ok).NextAttemptAt
	require.Eventually(t, func() bool {
		_, err := r.SendDue(ctx)
		require.NoError(t, err)
		return e.row(t, ok).NextAttemptAt.After(firstCheck)
	}, waitFor, tick, "sent row never checked")
	for _, id := range []uuid.UUID{ok, doomed} {
		row := e.row(t, id)
		require.Nil(t, row.ConfirmedAt, "confirmed while its task is pending")
		require.EqualValues(t, 1, row.Attempts)
	}
	e.requireTasks(t, tasks.QueueDefault, ok, doomed)

	e.server(t, 1, func(ctx context.Context, _ *asynq.Task) error {
		if id, _ := asynq.GetTaskID(ctx); id == doomed.String() {
			return errors.New("this one always fails")
		}
		return nil
	})
	require.Eventually(t, func() bool {
		_, err := r.SendDue(ctx)
		require.NoError(t, err)
		return e.row(t, ok).ConfirmedAt != nil && e.row(t, doomed).ConfirmedAt != nil
	}, waitFor, tick, "rows not confirmed once their tasks finished")
	for id, want := range map[uuid.UUID]asynq.TaskState{ok: asynq.TaskStateCompleted, doomed: asynq.TaskStateArchived} {
		info, err := e.inspector.GetTaskInfo(tasks.QueueDefault, id.String())
		require.NoError(t, err)
		require.Equal(t, want, info.State)
		require.EqualValues(t, 1, e.row(t, id).Attempts, "enqueued once")
	}
}

// idempotentWorker stands in for the worker: it counts every run of a task
// and applies each task's effect once, keyed by the task id (the worker's
// inserts are idempotent on the event id, which is the task id). Its run
// number blockAt waits for release, to hold a task active.
type idempotentWorker struct {
	mu      sync.Mutex
	runs    map[string]int
	effects map[string]bool
	total   int
	blockAt int
	blocked chan string
	release chan struct{}
}

func (w *idempotentWorker) handle(ctx context.Context, _ *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	w.mu.Lock()
	w.runs[id]++
	w.total++
	block := w.total == w.blockAt
	w.mu.Unlock()
	if block {
		w.blocked <- id
		<-w.release
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.effects[id] = true
	return nil
}

func (w *idempotentWorker) applied(ids ...uuid.UUID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if !w.effects[id.String()] {
			return false
		}
	}
	return true
}

// Redis restarts without persistence in the middle of a delivery: some
// tasks done, one running, some pending, more rows committed during the
// outage. Nothing is lost: every row is delivered and confirmed, each effect
// applied once, and only the task that was running when Redis lost it runs
// twice (its completion went down with Redis).
func TestRedisRestartMidDeliveryLosesNothing(t *testing.T) {
	e := setup(t)
	run(t, e.relay(checkQuickly(), nil))
	const done = 5
	w := &idempotentWorker{
		runs: map[string]int{}, effects: map[string]bool{},
		blockAt: done + 1, blocked: make(chan string, 1), release: make(chan struct{}),
	}
	released := false
	t.Cleanup(func() { // let the server shut down if the test failed early
		if !released {
			close(w.release)
		}
	})
	// One task at a time: while the blocked one runs, the rest stay pending.
	e.server(t, 1, w.handle)

	var before []uuid.UUID
	for i := range 10 {
		before = append(before, e.add(t, tasks.TypeEmailSend,
			tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: fmt.Sprint("before", i)}))
	}
	var active string
	select {
	case active = <-w.blocked:
	case <-time.After(waitFor):
		t.Fatal("the worker never reached its blocking task")
	}
	// The finished tasks are confirmed: losing their completed records now
	// must not run them again. Every row counts as sent: before the fix, the
	// relay was done with all of them.
	var finished []uuid.UUID
	w.mu.Lock()
	for id := range w.effects {
		finished = append(finished, uuid.MustParse(id))
	}
	w.mu.Unlock()
	require.Len(t, finished, done)
	e.waitConfirmed(t, finished...)
	e.waitSent(t, before...)
	for _, id := range before {
		if !slices.Contains(finished, id) {
			require.Nil(t, e.row(t, id).ConfirmedAt, "row %s confirmed before its task finished", id)
		}
	}

	e.redis.Stop()
	var during []uuid.UUID
	for i := range 3 {
		during = append(during, e.add(t, tasks.TypeEmailSend,
			tasks.EmailSend{NotificationID: uuid.NewString(), RecipientID: fmt.Sprint("during", i)}))
	}
	require.Eventually(t, func() bool { return e.row(t, during[0]).LastError != nil }, waitFor, tick,
		"the relay did not try the outage's rows")
	e.redis.Restart() // empty: the pending tasks and the running one are gone
	close(w.release)
	released = true

	all := append(append([]uuid.UUID{}, before...), during...)
	require.Eventually(t, func() bool { return w.applied(all...) }, waitFor, tick, "tasks lost with Redis")
	e.waitConfirmed(t, all...)

	w.mu.Lock()
	defer w.mu.Unlock()
	require.Len(t, w.effects, len(all), "an effect for a task that is not in the outbox")
	for _, id := range all {
		want := 1
		if id.String() == active {
			want = 2
		}
		assert.Equal(t, want, w.runs[id.String()], "runs of %s", id)
	}
}
