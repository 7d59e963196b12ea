-- name: UpsertRecipient :exec
-- Applies a user:changed event unless a newer one was applied already.
INSERT INTO recipients (user_id, email, username, display_name, roles, deleted, version)
VALUES (@user_id, @email, @username, @display_name, @roles, @deleted, @version)
ON CONFLICT (user_id) DO UPDATE SET
    email = EXCLUDED.email, username = EXCLUDED.username, display_name = EXCLUDED.display_name,
    roles = EXCLUDED.roles, deleted = EXCLUDED.deleted, version = EXCLUDED.version, updated_at = now()
WHERE recipients.version <= EXCLUDED.version;

-- name: GetRecipient :one
SELECT * FROM recipients WHERE user_id = $1;

-- name: ListRecipients :many
-- A broadcast's audience, in batches: every live user, or those with a role.
SELECT user_id FROM recipients
WHERE NOT deleted
  AND (sqlc.narg(role)::text IS NULL OR roles @> ARRAY[sqlc.narg(role)::text])
  AND user_id > @after_user
ORDER BY user_id
LIMIT @max_rows;
