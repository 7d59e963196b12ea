-- name: GetPreferences :one
SELECT * FROM preferences WHERE user_id = $1;

-- name: UpdatePreferences :one
-- Sets the given switches and keeps the others (defaults for a new row), in
-- one statement so concurrent updates of different switches both stick.
INSERT INTO preferences (user_id, email, in_app, push, muted_kinds)
VALUES (@user_id, coalesce(sqlc.narg(email)::boolean, true), coalesce(sqlc.narg(in_app)::boolean, true),
        coalesce(sqlc.narg(push)::boolean, true), coalesce(sqlc.narg(muted_kinds)::text[], '{}'))
ON CONFLICT (user_id) DO UPDATE SET
    email = coalesce(sqlc.narg(email)::boolean, preferences.email),
    in_app = coalesce(sqlc.narg(in_app)::boolean, preferences.in_app),
    push = coalesce(sqlc.narg(push)::boolean, preferences.push),
    muted_kinds = coalesce(sqlc.narg(muted_kinds)::text[], preferences.muted_kinds),
    updated_at = now()
RETURNING *;
