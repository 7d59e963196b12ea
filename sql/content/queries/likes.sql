-- name: LikePost :execrows
INSERT INTO post_likes (post_id, user_id) VALUES (@post_id, @user_id) ON CONFLICT DO NOTHING;

-- name: UnlikePost :execrows
DELETE FROM post_likes WHERE post_id = @post_id AND user_id = @user_id;

-- name: LikeComment :execrows
INSERT INTO comment_likes (comment_id, user_id) VALUES (@comment_id, @user_id) ON CONFLICT DO NOTHING;

-- name: UnlikeComment :execrows
DELETE FROM comment_likes WHERE comment_id = @comment_id AND user_id = @user_id;

-- name: LikedPosts :many
-- Which of these posts the user likes (viewerHasLiked for a page).
SELECT post_id FROM post_likes WHERE user_id = @user_id AND post_id = ANY(@post_ids::uuid[]);

-- name: LikedComments :many
SELECT comment_id FROM comment_likes WHERE user_id = @user_id AND comment_id = ANY(@comment_ids::uuid[]);
