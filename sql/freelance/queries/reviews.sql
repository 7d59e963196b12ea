-- name: CreateReview :one
INSERT INTO reviews (id, order_id, gig_id, buyer_id, freelancer_id, rating, comment)
VALUES (@id, @order_id, @gig_id, @buyer_id, @freelancer_id, @rating, @comment)
RETURNING *;

-- name: AddGigRating :exec
-- In the review's transaction: the counters move with the rows they count.
UPDATE gigs SET rating_sum = rating_sum + @rating, review_count = review_count + 1 WHERE id = @id;

-- name: GetReviewForUpdate :one
SELECT * FROM reviews WHERE id = $1 FOR UPDATE;

-- name: SetReviewReply :one
UPDATE reviews SET reply = @reply, replied_at = now() WHERE id = @id RETURNING *;

-- name: ReviewsByOrders :many
SELECT * FROM reviews WHERE order_id = ANY(@order_ids::uuid[]);

-- name: ReviewsByGigs :many
-- One page of reviews for each gig, newest first, in one statement.
SELECT r.*
FROM unnest(@gig_ids::uuid[]) AS g (id)
CROSS JOIN LATERAL (
    SELECT * FROM reviews v
    WHERE v.gig_id = g.id
      AND (sqlc.narg(after_created)::timestamptz IS NULL
           OR (v.created_at, v.id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
    ORDER BY v.created_at DESC, v.id DESC
    LIMIT @lim
) AS r;
