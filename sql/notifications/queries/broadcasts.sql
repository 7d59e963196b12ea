-- name: InsertBroadcast :one
INSERT INTO broadcasts (id, sender_id, role, title, body, link)
VALUES (@id, @sender_id, @role, @title, @body, @link)
RETURNING *;

-- name: GetBroadcast :one
SELECT * FROM broadcasts WHERE id = $1;

-- name: AddBroadcastDelivered :exec
UPDATE broadcasts SET delivered = delivered + @n WHERE id = @id;

-- name: CompleteBroadcast :exec
UPDATE broadcasts SET completed_at = coalesce(completed_at, now()) WHERE id = $1;
