-- name: InsertOutbox :exec
-- Runs in the transaction of the caller, beside the domain change it announces.
INSERT INTO outbox (id, task_type, payload, queue, max_retry)
VALUES (@id, @task_type, @payload, @queue, @max_retry);

-- name: ClaimDue :many
-- Locks a batch of due, open rows for the calling transaction: unsent ones
-- to enqueue, sent ones whose task is to be checked. SKIP LOCKED lets several
-- relays share the table: each takes rows nobody else holds, and a row
-- confirmed meanwhile by another relay fails the re-checked WHERE.
SELECT id, task_type, payload, queue, max_retry, attempts, sent_at
FROM outbox
WHERE confirmed_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT @batch_size::int
FOR UPDATE SKIP LOCKED;

-- name: MarkSent :exec
-- The tasks are in Redis; their first check is due after check_after_seconds.
UPDATE outbox
SET sent_at = now(),
    attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => @check_after_seconds::float8)
WHERE id = ANY(@ids::uuid[]);

-- name: MarkFailed :exec
-- Backs a row off. The relay computes the delay (exponential, capped,
-- jittered), the database adds it to its own clock, the one claims compare with.
UPDATE outbox
SET attempts = attempts + 1,
    last_error = @last_error,
    next_attempt_at = now() + make_interval(secs => @backoff_seconds::float8)
WHERE id = @id;

-- name: MarkConfirmed :exec
-- asynq has finished the tasks (completed or archived): Redis may lose them now.
UPDATE outbox
SET confirmed_at = now()
WHERE id = ANY(@ids::uuid[]) AND sent_at IS NOT NULL;

-- name: CheckLater :exec
-- Schedules the next check of sent rows whose tasks are still queued (or
-- could not be looked up: then last_error says why). The interval is the
-- time since the row was sent, between min_seconds and max_seconds, so a task
-- that stays queued long (retrying with backoff) is looked up ever less often.
UPDATE outbox
SET next_attempt_at = now() + LEAST(
        GREATEST(now() - sent_at, make_interval(secs => @min_seconds::float8)),
        make_interval(secs => @max_seconds::float8)),
    last_error = COALESCE(sqlc.narg(last_error)::text, last_error)
WHERE id = ANY(@ids::uuid[]) AND sent_at IS NOT NULL;

-- name: PurgeConfirmed :execrows
-- Deletes at most batch_size rows confirmed before before. The caller loops
-- so that no single statement holds many row locks or a long transaction.
DELETE FROM outbox
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.confirmed_at < @before::timestamptz
    ORDER BY o.confirmed_at
    LIMIT @batch_size::int
);

-- name: GetOutbox :one
SELECT id, task_type, payload, queue, max_retry, created_at, attempts, last_error, next_attempt_at, sent_at, confirmed_at
FROM outbox WHERE id = @id;

-- name: ListOpen :many
-- The rows not confirmed yet, oldest first (for operators and tests).
SELECT id, task_type, payload, queue, max_retry, created_at, attempts, last_error, next_attempt_at, sent_at, confirmed_at
FROM outbox
WHERE confirmed_at IS NULL
ORDER BY created_at, id
LIMIT @max_rows::int;

-- name: NotifyOutbox :exec
-- Delivered only when the transaction of the caller commits (never for a
-- rollback). Several in one transaction collapse into one.
SELECT pg_notify('outbox', 'wake');

-- name: ListenOutbox :exec
-- Run on the dedicated connection of a relay, woken by NotifyOutbox.
LISTEN outbox;
