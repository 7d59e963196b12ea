-- name: GetReviewByAuthor :one
SELECT * FROM product_reviews WHERE product_id = @product_id AND author_id = @author_id FOR UPDATE;

-- name: GetReview :one
SELECT * FROM product_reviews WHERE id = $1;

-- name: GetReviews :many
SELECT * FROM product_reviews WHERE id = ANY(@ids::uuid[]);

-- name: CreateReview :one
INSERT INTO product_reviews (id, product_id, author_id, rating, comment) VALUES (@id, @product_id, @author_id, @rating, sqlc.narg(comment))
RETURNING *;

-- name: EditReview :one
UPDATE product_reviews SET rating = @rating, comment = sqlc.narg(comment), edited_at = now() WHERE id = @id RETURNING *;

-- name: ReplyToReview :one
UPDATE product_reviews SET reply = @reply, replied_at = now() WHERE id = @id AND reply IS NULL RETURNING *;

-- name: ListProductReviews :many
-- Reviews of several products, newest first, at most max_rows each after
-- the given seq: one statement for a page of products.
SELECT r.* FROM unnest(@product_ids::uuid[]) AS prod(id)
CROSS JOIN LATERAL (
    SELECT * FROM product_reviews pr
    WHERE pr.product_id = prod.id
      AND (sqlc.narg(after_seq)::bigint IS NULL OR pr.seq < sqlc.narg(after_seq)::bigint)
    ORDER BY pr.seq DESC
    LIMIT @max_rows
) r
ORDER BY r.product_id, r.seq DESC;
