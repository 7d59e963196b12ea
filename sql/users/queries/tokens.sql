-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at)
VALUES ($1, $2, $3, $4, $5);

-- name: GetRefreshTokenUserForShare :one
-- The refresh token's user, locked as GetUserForShare does. A refresh takes
-- this lock before the token's own, in the order role and password changes
-- take theirs (user, then tokens), so they can never deadlock.
SELECT * FROM users WHERE id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1) FOR SHARE;

-- name: GetRefreshTokenForUpdate :one
-- Locks the token so two concurrent refreshes with it cannot both succeed.
SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE;

-- name: MarkRefreshTokenUsed :exec
UPDATE refresh_tokens SET used_at = now() WHERE id = $1;

-- name: RevokeFamily :exec
UPDATE refresh_tokens SET revoked_at = now()
WHERE family_id = $1 AND revoked_at IS NULL;

-- name: RevokeOtherFamilies :many
-- Revokes every session of a user but one; returns the revoked families.
WITH revoked AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE user_id = @user_id AND revoked_at IS NULL AND family_id <> @keep_family
    RETURNING family_id
)
SELECT DISTINCT family_id FROM revoked;

-- name: DeleteExpiredRefreshTokens :execrows
DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day';

-- name: GetRefreshTokenByHash :one
SELECT * FROM refresh_tokens WHERE token_hash = $1;
