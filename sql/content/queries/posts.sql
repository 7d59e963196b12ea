-- name: CreatePost :one
INSERT INTO posts (id, channel_id, author_id, title, body, status, channel_seq, published_at, created_at, updated_at)
VALUES (@id, @channel_id, @author_id, @title, @body, @status, sqlc.narg(channel_seq), sqlc.narg(published_at), @at, @at)
RETURNING *;

-- name: GetPost :one
SELECT * FROM posts WHERE id = $1 AND deleted_at IS NULL;

-- name: GetPostForUpdate :one
SELECT * FROM posts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE;

-- name: GetPosts :many
SELECT * FROM posts WHERE id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: UpdatePostText :one
UPDATE posts SET title = @title, body = @body, edited_at = sqlc.narg(edited_at), updated_at = @at
WHERE id = @id
RETURNING *;

-- name: AddPostEdit :exec
INSERT INTO post_edits (post_id, title, body, replaced_at) VALUES (@post_id, @title, @body, @replaced_at);

-- name: ListPostEdits :many
SELECT post_id, title, body, replaced_at FROM post_edits
WHERE post_id = ANY(@post_ids::uuid[])
ORDER BY post_id, seq DESC;

-- name: PublishPost :one
UPDATE posts SET status = 'PUBLISHED', channel_seq = @channel_seq, published_at = @at, updated_at = @at
WHERE id = @id
RETURNING *;

-- name: SoftDeletePost :exec
UPDATE posts SET deleted_at = @at, pinned_at = NULL WHERE id = @id;

-- name: SetPostPinned :one
UPDATE posts SET pinned_at = CASE WHEN @pinned::boolean THEN coalesce(pinned_at, @at) END
WHERE id = @id
RETURNING *;

-- name: SetPostHidden :one
UPDATE posts SET hidden_at = CASE WHEN @hidden::boolean THEN coalesce(hidden_at, @at) END,
    hidden_reason = CASE WHEN @hidden::boolean THEN sqlc.narg(reason) END
WHERE id = @id
RETURNING *;

-- name: ListChannelPosts :many
-- A channel's published posts, newest first. Hidden ones only for those who
-- may see them: their author, or everyone when show_hidden.
SELECT * FROM posts
WHERE channel_id = @channel_id AND status = 'PUBLISHED' AND deleted_at IS NULL
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
  AND (sqlc.narg(after_time)::timestamptz IS NULL OR (published_at, id) < (sqlc.narg(after_time)::timestamptz, @after_id::uuid))
ORDER BY published_at DESC, id DESC
LIMIT @max_rows;

-- name: ListPinnedPosts :many
SELECT * FROM posts
WHERE channel_id = @channel_id AND pinned_at IS NOT NULL AND status = 'PUBLISHED' AND deleted_at IS NULL
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
ORDER BY pinned_at DESC, id DESC
LIMIT 50;

-- name: ListTopPosts :many
-- The most liked posts published since a time.
SELECT * FROM posts
WHERE channel_id = @channel_id AND status = 'PUBLISHED' AND deleted_at IS NULL AND hidden_at IS NULL
  AND published_at >= @since
ORDER BY like_count DESC, published_at DESC, id DESC
LIMIT @max_rows;

-- name: ListFeed :many
-- The posts of every channel the user belongs to, newest first: one
-- index-ordered top-N per channel, merged, so a user in hundreds of channels
-- reads at most channels × page rows however long their histories. The
-- top-N carry only the sort key: the page's rows are read once, by id, after
-- the merge (whole rows through the merge cost a 200-channel feed twice the
-- time, issue 14's benchmark).
SELECT p.* FROM (
    SELECT k.id, k.published_at FROM memberships m
    CROSS JOIN LATERAL (
        SELECT q.id, q.published_at FROM posts q
        WHERE q.channel_id = m.channel_id AND q.status = 'PUBLISHED' AND q.deleted_at IS NULL
          AND (q.hidden_at IS NULL OR q.author_id = @user_id)
          AND (sqlc.narg(after_time)::timestamptz IS NULL OR (q.published_at, q.id) < (sqlc.narg(after_time)::timestamptz, @after_id::uuid))
        ORDER BY q.published_at DESC, q.id DESC
        LIMIT @max_rows
    ) k
    WHERE m.user_id = @user_id AND m.status = 'MEMBER'
    ORDER BY k.published_at DESC, k.id DESC
    LIMIT @max_rows
) page
JOIN posts p ON p.id = page.id
ORDER BY p.published_at DESC, p.id DESC;

-- name: ListAuthorPosts :many
-- A user's published posts in channels the viewer may read. Hidden ones for
-- the author, everyone when show_hidden, and the channel's owner and admins.
SELECT p.* FROM posts p JOIN channels c ON c.id = p.channel_id
WHERE p.author_id = @author_id AND p.status = 'PUBLISHED' AND p.deleted_at IS NULL
  AND (p.hidden_at IS NULL OR @show_hidden::boolean OR p.author_id = @viewer
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER' AND m.role IN ('OWNER', 'ADMIN')))
  AND (c.visibility = 'PUBLIC' OR @staff::boolean
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER'))
  AND (sqlc.narg(after_time)::timestamptz IS NULL OR (p.published_at, p.id) < (sqlc.narg(after_time)::timestamptz, @after_id::uuid))
ORDER BY p.published_at DESC, p.id DESC
LIMIT @max_rows;

-- name: ListPostsAfterSeq :many
-- postAdded's replay: published posts after a position, in order.
SELECT * FROM posts
WHERE channel_id = @channel_id AND channel_seq > @after_seq
ORDER BY channel_seq
LIMIT @max_rows;

-- name: NextCommentSeq :one
-- Commenting takes the post row's lock until commit, so positions are given
-- and committed in the same order.
UPDATE posts SET comment_seq = comment_seq + 1, comment_count = comment_count + 1
WHERE id = @id
RETURNING comment_seq;

-- name: AddPostComments :exec
UPDATE posts SET comment_count = comment_count + @delta::int WHERE id = @id;

-- name: AddPostLikes :one
UPDATE posts SET like_count = like_count + @delta::int WHERE id = @id RETURNING *;
