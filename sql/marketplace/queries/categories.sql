-- name: ListCategories :many
SELECT * FROM product_categories ORDER BY lower(name), id;

-- name: GetCategory :one
SELECT * FROM product_categories WHERE id = $1;

-- name: CreateCategory :one
INSERT INTO product_categories (id, parent_id, slug, name) VALUES (@id, sqlc.narg(parent_id), @slug, @name)
RETURNING *;

-- name: RenameCategory :one
UPDATE product_categories SET name = @name WHERE id = @id RETURNING *;

-- name: MoveCategory :one
UPDATE product_categories SET parent_id = sqlc.narg(parent_id) WHERE id = @id RETURNING *;

-- name: DeleteCategory :exec
DELETE FROM product_categories WHERE id = $1;

-- name: CategoryInUse :one
-- Whether a category still has children or products (deleted ones keep
-- their category: their reviews and favourites point at them).
SELECT (EXISTS (SELECT 1 FROM product_categories WHERE parent_id = @id::uuid)
     OR EXISTS (SELECT 1 FROM products WHERE category_id = @id::uuid))::boolean AS in_use;

-- name: IsDescendant :one
-- Whether candidate is id itself or below it (a move there would make a cycle).
WITH RECURSIVE below (id) AS (
    SELECT @id::uuid
    UNION ALL
    SELECT c.id FROM product_categories c JOIN below b ON c.parent_id = b.id
)
SELECT EXISTS (SELECT 1 FROM below WHERE id = @candidate::uuid);

-- name: ListedCountsByCategory :many
-- Listed products per category (subtrees are summed by the service).
SELECT category_id, count(*)::int AS n FROM products
WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL
GROUP BY category_id;
