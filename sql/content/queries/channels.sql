-- name: CreateChannel :one
INSERT INTO channels (id, slug, name, description, visibility, owner_id, posting_restricted, member_count)
VALUES (@id, @slug, @name, @description, @visibility, @owner_id, @posting_restricted, 1)
RETURNING *;

-- name: GetChannel :one
SELECT * FROM channels WHERE id = $1;

-- name: GetChannelBySlug :one
SELECT * FROM channels WHERE slug = $1;

-- name: GetChannelForUpdate :one
SELECT * FROM channels WHERE id = $1 FOR UPDATE;

-- name: GetChannels :many
SELECT * FROM channels WHERE id = ANY(@ids::uuid[]);

-- name: UpdateChannel :one
UPDATE channels SET
    name = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    visibility = coalesce(sqlc.narg(visibility)::channel_visibility, visibility),
    posting_restricted = coalesce(sqlc.narg(posting_restricted), posting_restricted),
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SetChannelArchived :one
UPDATE channels SET archived_at = CASE WHEN @archived::boolean THEN coalesce(archived_at, now()) END, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SetChannelOwner :exec
UPDATE channels SET owner_id = @owner_id, updated_at = now() WHERE id = @id;

-- name: DeleteChannel :exec
DELETE FROM channels WHERE id = $1;

-- name: AddChannelMembers :exec
UPDATE channels SET member_count = member_count + @delta::int WHERE id = @id;

-- name: NextPostSeq :one
-- Publishing takes the channel row's lock until commit, so positions are
-- given and committed in the same order.
UPDATE channels SET post_seq = post_seq + 1, post_count = post_count + 1, last_post_at = @at
WHERE id = @id
RETURNING post_seq;

-- name: AddChannelPosts :exec
UPDATE channels SET post_count = post_count + @delta::int WHERE id = @id;

-- name: ListChannelsNewest :many
-- The directory: public channels, and private ones the viewer belongs to.
SELECT c.* FROM channels c
WHERE (c.visibility = 'PUBLIC' OR @staff::boolean
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER'))
  AND (sqlc.narg(search)::text IS NULL OR channel_document(c.name, c.description) @@ websearch_to_tsquery('english', sqlc.narg(search)::text))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR c.seq < sqlc.narg(after_seq)::bigint)
ORDER BY c.seq DESC
LIMIT @max_rows;

-- name: ListChannelsByMembers :many
SELECT c.* FROM channels c
WHERE (c.visibility = 'PUBLIC' OR @staff::boolean
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER'))
  AND (sqlc.narg(search)::text IS NULL OR channel_document(c.name, c.description) @@ websearch_to_tsquery('english', sqlc.narg(search)::text))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR (c.member_count, c.seq) < (@after_members::int, sqlc.narg(after_seq)::bigint))
ORDER BY c.member_count DESC, c.seq DESC
LIMIT @max_rows;

-- name: ListChannelsByActivity :many
SELECT c.* FROM channels c
WHERE (c.visibility = 'PUBLIC' OR @staff::boolean
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER'))
  AND (sqlc.narg(search)::text IS NULL OR channel_document(c.name, c.description) @@ websearch_to_tsquery('english', sqlc.narg(search)::text))
  AND (sqlc.narg(after_seq)::bigint IS NULL
       OR (coalesce(c.last_post_at, c.created_at), c.seq) < (@after_activity::timestamptz, sqlc.narg(after_seq)::bigint))
ORDER BY coalesce(c.last_post_at, c.created_at) DESC, c.seq DESC
LIMIT @max_rows;

-- name: ListChannelsByRelevance :many
-- Ranked by full-text relevance; the rank is rounded so that the cursor
-- compares exactly what the sort used.
SELECT sqlc.embed(c), round(ts_rank(channel_document(c.name, c.description), websearch_to_tsquery('english', @search::text))::numeric, 6)::float8 AS rank
FROM channels c
WHERE (c.visibility = 'PUBLIC' OR @staff::boolean
       OR EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = c.id AND m.user_id = @viewer AND m.status = 'MEMBER'))
  AND channel_document(c.name, c.description) @@ websearch_to_tsquery('english', @search::text)
  AND (sqlc.narg(after_seq)::bigint IS NULL
       OR (round(ts_rank(channel_document(c.name, c.description), websearch_to_tsquery('english', @search::text))::numeric, 6)::float8, c.seq)
          < (@after_rank::float8, sqlc.narg(after_seq)::bigint))
ORDER BY rank DESC, c.seq DESC
LIMIT @max_rows;

-- name: ListUserChannels :many
-- A user's memberships, newest first; public ones only unless all.
SELECT sqlc.embed(c), m.seq AS membership_seq FROM memberships m JOIN channels c ON c.id = m.channel_id
WHERE m.user_id = @user_id AND m.status = 'MEMBER'
  AND (@include_private::boolean OR c.visibility = 'PUBLIC')
  AND (sqlc.narg(after_seq)::bigint IS NULL OR m.seq < sqlc.narg(after_seq)::bigint)
ORDER BY m.seq DESC
LIMIT @max_rows;
