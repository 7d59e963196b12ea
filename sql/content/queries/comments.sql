-- name: CreateComment :one
INSERT INTO comments (id, post_id, parent_id, seq, path, depth, author_id, body, created_at)
VALUES (@id, @post_id, sqlc.narg(parent_id), @seq, @path, @depth, @author_id, @body, @at)
RETURNING *;

-- name: GetComment :one
SELECT * FROM comments WHERE id = $1;

-- name: GetCommentForUpdate :one
SELECT * FROM comments WHERE id = $1 FOR UPDATE;

-- name: GetComments :many
SELECT * FROM comments WHERE id = ANY(@ids::uuid[]);

-- name: UpdateCommentBody :one
UPDATE comments SET body = @body, edited_at = @at WHERE id = @id RETURNING *;

-- name: SoftDeleteComment :exec
UPDATE comments SET deleted_at = @at WHERE id = @id;

-- name: HardDeleteComment :exec
DELETE FROM comments WHERE id = $1;

-- name: AddReplies :exec
UPDATE comments SET reply_count = reply_count + @delta::int WHERE id = @id;

-- name: AddCommentLikes :one
UPDATE comments SET like_count = like_count + @delta::int WHERE id = @id RETURNING *;

-- name: SetCommentHidden :one
UPDATE comments SET hidden_at = CASE WHEN @hidden::boolean THEN coalesce(hidden_at, @at) END,
    hidden_reason = CASE WHEN @hidden::boolean THEN sqlc.narg(reason) END
WHERE id = @id
RETURNING *;

-- name: ListTopLevelOldest :many
-- Deleted comments are listed only while they have replies ([deleted]).
SELECT * FROM comments
WHERE post_id = @post_id AND parent_id IS NULL
  AND (deleted_at IS NULL OR reply_count > 0)
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
  AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: ListTopLevelNewest :many
SELECT * FROM comments
WHERE post_id = @post_id AND parent_id IS NULL
  AND (deleted_at IS NULL OR reply_count > 0)
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq < sqlc.narg(after_seq)::bigint)
ORDER BY seq DESC
LIMIT @max_rows;

-- name: ListTopLevelTop :many
SELECT * FROM comments
WHERE post_id = @post_id AND parent_id IS NULL
  AND (deleted_at IS NULL OR reply_count > 0)
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
  AND (sqlc.narg(after_seq)::bigint IS NULL OR (like_count, -seq) < (@after_likes::int, -sqlc.narg(after_seq)::bigint))
ORDER BY like_count DESC, seq
LIMIT @max_rows;

-- name: ListReplies :many
-- Direct replies of several comments, oldest first, at most max_rows each
-- after the given seq: one statement for a whole level of a tree, one
-- index-ordered top-N per parent. Hidden replies are shown to their author,
-- to everyone when show_hidden, and to the owner and admins of their channel.
SELECT r.* FROM unnest(@parent_ids::uuid[]) AS parent(id)
CROSS JOIN LATERAL (
    SELECT * FROM comments c
    WHERE c.parent_id = parent.id
      AND (c.deleted_at IS NULL OR c.reply_count > 0)
      AND (c.hidden_at IS NULL OR @show_hidden::boolean OR c.author_id = @viewer
           OR EXISTS (SELECT 1 FROM posts p JOIN memberships m ON m.channel_id = p.channel_id
                      WHERE p.id = c.post_id AND m.user_id = @viewer AND m.status = 'MEMBER' AND m.role IN ('OWNER', 'ADMIN')))
      AND c.seq > @after_seq
    ORDER BY c.seq
    LIMIT @max_rows
) r
ORDER BY r.parent_id, r.seq;

-- name: ListThread :many
-- A thread (or the sub-thread under a path prefix) in reading order, down to
-- max_depth, from after_path on: one range scan of (post_id, path).
SELECT * FROM comments
WHERE post_id = @post_id
  AND path > @from_path::text AND path < @to_path::text
  AND depth <= @max_depth
  AND (deleted_at IS NULL OR reply_count > 0)
  AND (hidden_at IS NULL OR @show_hidden::boolean OR author_id = @viewer)
ORDER BY path
LIMIT @max_rows;

-- name: ListCommentsAfterSeq :many
-- commentAdded's replay: a post's comments after a position, in order.
SELECT * FROM comments
WHERE post_id = @post_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;
