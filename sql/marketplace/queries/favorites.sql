-- name: AddFavorite :execrows
INSERT INTO favorites (product_id, user_id) VALUES (@product_id, @user_id) ON CONFLICT DO NOTHING;

-- name: RemoveFavorite :execrows
DELETE FROM favorites WHERE product_id = @product_id AND user_id = @user_id;

-- name: FavoritedAmong :many
-- Which of these products the user favourited (isFavorite for a page).
SELECT product_id FROM favorites WHERE user_id = @user_id AND product_id = ANY(@product_ids::uuid[]);

-- name: ListFavorites :many
-- A user's favourites, most recent first, products still listed.
SELECT sqlc.embed(p), f.seq AS favorite_seq FROM favorites f JOIN products p ON p.id = f.product_id
WHERE f.user_id = @user_id AND p.deleted_at IS NULL AND p.status IN ('ACTIVE', 'SOLD_OUT')
  AND (sqlc.narg(after_seq)::bigint IS NULL OR f.seq < sqlc.narg(after_seq)::bigint)
ORDER BY f.seq DESC
LIMIT @max_rows;

-- name: ListFavoriters :many
-- One batch of those who favourited a product (a price drop's audience).
SELECT user_id FROM favorites WHERE product_id = @product_id AND user_id > @after_user
ORDER BY user_id
LIMIT @max_rows;

-- name: DeleteFavorites :exec
DELETE FROM favorites WHERE product_id = $1;
