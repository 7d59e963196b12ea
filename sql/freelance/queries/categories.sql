-- name: ListCategories :many
-- The whole tree is small: it is read in one statement and assembled in Go.
SELECT * FROM gig_categories ORDER BY position, name, id;

-- name: CreateCategory :one
INSERT INTO gig_categories (parent_id, slug, name, position)
VALUES (sqlc.narg(parent_id), @slug, @name,
        coalesce((SELECT max(position) + 1 FROM gig_categories
                  WHERE parent_id IS NOT DISTINCT FROM sqlc.narg(parent_id)), 1))
RETURNING *;

-- name: CategoryExists :one
SELECT EXISTS (SELECT 1 FROM gig_categories WHERE id = $1);
