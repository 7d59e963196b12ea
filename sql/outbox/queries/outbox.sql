-- name: InsertOutbox :exec
-- Runs in the transaction of the caller, beside the domain change it announces.
INSERT INTO outbox (id, task_type, payload, queue, max_retry)
VALUES (@id, @task_type, @payload, @queue, @max_retry);

-- name: ClaimDue :many
-- Locks a batch of due, unsent rows for the calling transaction. SKIP LOCKED
-- lets several relays share the table: each takes rows nobody else holds, and
-- a row sent meanwhile by another relay fails the re-checked WHERE.
SELECT id, task_type, payload, queue, max_retry, attempts
FROM outbox
WHERE sent_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT @batch_size::int
FOR UPDATE SKIP LOCKED;

-- name: MarkSent :exec
UPDATE outbox
SET sent_at = now(), attempts = attempts + 1
WHERE id = ANY(@ids::uuid[]);

-- name: MarkFailed :exec
-- Backs a row off. The relay computes the delay (exponential, capped,
-- jittered), the database adds it to its own clock, the one claims compare with.
UPDATE outbox
SET attempts = attempts + 1,
    last_error = @last_error,
    next_attempt_at = now() + make_interval(secs => @backoff_seconds::float8)
WHERE id = @id;

-- name: PurgeSent :execrows
-- Deletes at most batch_size sent rows older than before. The caller loops so
-- that no single statement holds many row locks or a long transaction.
DELETE FROM outbox
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.sent_at < @before::timestamptz
    ORDER BY o.sent_at
    LIMIT @batch_size::int
);

-- name: GetOutbox :one
SELECT id, task_type, payload, queue, max_retry, created_at, attempts, last_error, next_attempt_at, sent_at
FROM outbox WHERE id = @id;

-- name: ListUnsent :many
-- The backlog, oldest first (for operators and tests).
SELECT id, task_type, payload, queue, max_retry, created_at, attempts, last_error, next_attempt_at, sent_at
FROM outbox
WHERE sent_at IS NULL
ORDER BY created_at, id
LIMIT @max_rows::int;

-- name: NotifyOutbox :exec
-- Delivered only when the transaction of the caller commits (never for a
-- rollback). Several in one transaction collapse into one.
SELECT pg_notify('outbox', 'wake');

-- name: ListenOutbox :exec
-- Run on the dedicated connection of a relay, woken by NotifyOutbox.
LISTEN outbox;
