-- name: GetMembership :one
SELECT * FROM memberships WHERE channel_id = @channel_id AND user_id = @user_id;

-- name: GetMembershipForUpdate :one
SELECT * FROM memberships WHERE channel_id = @channel_id AND user_id = @user_id FOR UPDATE;

-- name: GetMemberships :many
-- The viewer's standing in several channels at once (a page's viewerRole).
SELECT * FROM memberships WHERE user_id = @user_id AND channel_id = ANY(@channel_ids::uuid[]);

-- name: UpsertMembership :one
INSERT INTO memberships (channel_id, user_id, status, role, since)
VALUES (@channel_id, @user_id, @status, sqlc.narg(role), now())
ON CONFLICT (channel_id, user_id) DO UPDATE SET
    status = EXCLUDED.status, role = EXCLUDED.role, since = now(),
    notify_on_post = CASE WHEN EXCLUDED.status = 'MEMBER' THEN memberships.notify_on_post ELSE false END,
    notify_since = CASE WHEN EXCLUDED.status = 'MEMBER' THEN memberships.notify_since END
RETURNING *;

-- name: SetMemberRole :one
UPDATE memberships SET role = @role WHERE channel_id = @channel_id AND user_id = @user_id AND status = 'MEMBER'
RETURNING *;

-- name: SetNotifyOnPost :one
UPDATE memberships SET notify_on_post = @notify_on_post,
    notify_since = CASE WHEN @notify_on_post::boolean THEN coalesce(notify_since, now()) END
WHERE channel_id = @channel_id AND user_id = @user_id AND status = 'MEMBER'
RETURNING *;

-- name: DeleteMembership :one
DELETE FROM memberships WHERE channel_id = @channel_id AND user_id = @user_id RETURNING *;

-- name: ListMembers :many
-- Owner first, then admins, then members, each by join order.
SELECT * FROM memberships
WHERE channel_id = @channel_id AND status = 'MEMBER'
  AND (sqlc.narg(role)::channel_role IS NULL OR role = sqlc.narg(role)::channel_role)
  AND (sqlc.narg(after_seq)::bigint IS NULL OR (role, seq) > (@after_role::channel_role, sqlc.narg(after_seq)::bigint))
ORDER BY role, seq
LIMIT @max_rows;

-- name: ListByStatus :many
-- Pending requests (or invitations), oldest first.
SELECT * FROM memberships
WHERE channel_id = @channel_id AND status = @status
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq)::bigint)
ORDER BY seq
LIMIT @max_rows;

-- name: ListAdmins :many
-- Who decides a join request: the owner and the admins.
SELECT user_id FROM memberships
WHERE channel_id = @channel_id AND status = 'MEMBER' AND role IN ('OWNER', 'ADMIN')
ORDER BY role, seq
LIMIT @max_rows;

-- name: ListPostSubscribers :many
-- One batch of a new post's audience: members who had asked to be notified
-- when it was published.
SELECT user_id FROM memberships
WHERE channel_id = @channel_id AND status = 'MEMBER' AND notify_on_post AND notify_since <= @published_at
  AND user_id > @after_user AND user_id <> @author_id
ORDER BY user_id
LIMIT @max_rows;
