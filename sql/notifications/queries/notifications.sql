-- name: LockRecipient :exec
-- Serialises deliveries to one recipient until commit, so seq order is commit
-- order per recipient (see the migration).
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(recipient_key)::text, 7261005));

-- name: InsertNotification :one
-- Returns no row when the event was stored before.
INSERT INTO notifications (id, recipient_id, kind, title, body, link, data, in_app, created_at, email_status, push_status)
VALUES (@id, @recipient_id, @kind, @title, @body, @link, @data, @in_app, @created_at, @email_status, @push_status)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetNotification :one
SELECT * FROM notifications WHERE id = $1;

-- name: GetNotifications :many
SELECT * FROM notifications WHERE id = ANY(@ids::uuid[]) AND in_app;

-- name: ListNotifications :many
-- A recipient's notifications, newest first, after a keyset cursor.
SELECT * FROM notifications
WHERE recipient_id = @recipient_id AND in_app
  AND (NOT @unread_only::boolean OR read_at IS NULL)
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq)::bigint)
ORDER BY seq DESC
LIMIT @max_rows;

-- name: ListNotificationsAfter :many
-- The replay of a subscription: oldest first, after a seq.
SELECT * FROM notifications
WHERE recipient_id = @recipient_id AND in_app AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: LatestSeq :one
-- The seq a subscription without `after` starts from.
SELECT coalesce(max(seq), 0)::bigint FROM notifications WHERE recipient_id = @recipient_id AND in_app;

-- name: CountUnread :one
SELECT count(*) FROM notifications WHERE recipient_id = $1 AND in_app AND read_at IS NULL;

-- name: MarkRead :one
UPDATE notifications SET read_at = coalesce(read_at, now())
WHERE id = @id AND recipient_id = @recipient_id AND in_app
RETURNING *;

-- name: MarkAllRead :execrows
UPDATE notifications SET read_at = now()
WHERE recipient_id = $1 AND in_app AND read_at IS NULL;

-- name: SetEmailStatus :exec
UPDATE notifications
SET email_status = @status,
    email_error = sqlc.narg(error),
    email_sent_at = CASE WHEN @status = 'SENT' THEN now() ELSE email_sent_at END
WHERE id = @id;

-- name: SetPushStatus :exec
UPDATE notifications
SET push_status = @status,
    push_error = sqlc.narg(error),
    push_sent_at = CASE WHEN @status = 'SENT' THEN now() ELSE push_sent_at END
WHERE id = @id;

-- name: PurgeRead :execrows
-- Read notifications, and those never shown in-app, older than a cut-off; in
-- batches so a large purge holds no long locks.
WITH doomed AS (
    SELECT n.id FROM notifications n
    WHERE (n.read_at IS NOT NULL AND n.read_at < @before::timestamptz)
       OR (NOT n.in_app AND n.stored_at < @before::timestamptz)
    LIMIT @batch_size
)
DELETE FROM notifications WHERE id IN (SELECT id FROM doomed);

-- name: UnreadRecipients :many
-- Recipients with unread notifications created since a time, for the digest;
-- keyset-paginated by recipient.
SELECT recipient_id, count(*)::int AS unread
FROM notifications
WHERE in_app AND read_at IS NULL AND created_at >= @since
  AND recipient_id > @after_recipient
GROUP BY recipient_id
ORDER BY recipient_id
LIMIT @max_rows;

-- name: ListUnread :many
-- The newest unread notifications of a recipient, for the digest.
SELECT * FROM notifications
WHERE recipient_id = $1 AND in_app AND read_at IS NULL
ORDER BY seq DESC
LIMIT $2;
