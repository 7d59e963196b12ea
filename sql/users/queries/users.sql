-- name: CreateUser :one
INSERT INTO users (id, email, username, password_hash, display_name, roles)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserForShare :one
-- Reads the roles a new access token will carry under the row lock a role
-- or password change takes: either the change waits and then sees (and
-- revokes) the new session, or the session waits and gets the new roles.
SELECT * FROM users WHERE id = $1 FOR SHARE;

-- name: GetUserForUpdate :one
SELECT * FROM users WHERE id = $1 FOR UPDATE;

-- name: GetUsers :many
SELECT * FROM users WHERE id = ANY(@ids::uuid[]);

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = $1;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE lower(email) = lower(@email);

-- name: ListUsers :many
-- Newest first, keyset-paginated on (created_at, id).
SELECT * FROM users
WHERE (sqlc.narg(search)::text IS NULL
       OR (username || ' ' || display_name || ' ' || email) ILIKE '%' || sqlc.narg(search)::text || '%')
  AND (sqlc.narg(role)::text IS NULL OR sqlc.narg(role)::text = ANY(roles))
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: UpdateProfile :one
UPDATE users SET
    display_name = coalesce(sqlc.narg(display_name), display_name),
    bio          = coalesce(sqlc.narg(bio), bio),
    avatar_url   = CASE WHEN @set_avatar::bool THEN sqlc.narg(avatar_url) ELSE avatar_url END,
    location     = coalesce(sqlc.narg(location), location),
    website      = CASE WHEN @set_website::bool THEN sqlc.narg(website) ELSE website END,
    skills       = coalesce(sqlc.narg(skills), skills),
    updated_at   = now()
WHERE id = @id
RETURNING *;

-- name: SetPasswordHash :exec
UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1;

-- name: AddRole :one
UPDATE users SET roles = CASE WHEN @role::text = ANY(roles) THEN roles ELSE array_append(roles, @role::text) END,
                 updated_at = now()
WHERE id = @id
RETURNING *;

-- name: RemoveRole :one
UPDATE users SET roles = array_remove(roles, @role::text), updated_at = now()
WHERE id = @id
RETURNING *;
