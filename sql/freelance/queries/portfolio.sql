-- name: CreatePortfolioItem :one
INSERT INTO portfolio_items (id, freelancer_id, title, description, image_url, project_url, gig_id)
VALUES (@id, @freelancer_id, @title, @description, sqlc.narg(image_url), sqlc.narg(project_url), sqlc.narg(gig_id))
RETURNING *;

-- name: GetPortfolioItemForUpdate :one
SELECT * FROM portfolio_items WHERE id = $1 FOR UPDATE;

-- name: UpdatePortfolioItem :one
UPDATE portfolio_items SET
    title = @title, description = @description, image_url = sqlc.narg(image_url),
    project_url = sqlc.narg(project_url), gig_id = sqlc.narg(gig_id), updated_at = now()
WHERE id = @id
RETURNING *;

-- name: DeletePortfolioItem :exec
DELETE FROM portfolio_items WHERE id = $1;

-- name: PortfolioByFreelancers :many
-- One page of portfolio items for each freelancer, newest first.
SELECT p.*
FROM unnest(@freelancer_ids::uuid[]) AS f (id)
CROSS JOIN LATERAL (
    SELECT * FROM portfolio_items i
    WHERE i.freelancer_id = f.id
      AND (sqlc.narg(after_created)::timestamptz IS NULL
           OR (i.created_at, i.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
    ORDER BY i.created_at DESC, i.id DESC
    LIMIT @lim
) AS p;
