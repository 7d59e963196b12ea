-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text        NOT NULL,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    display_name  text        NOT NULL,
    roles         text[]      NOT NULL DEFAULT '{}',
    bio           text        NOT NULL DEFAULT '',
    avatar_url    text,
    location      text        NOT NULL DEFAULT '',
    website       text,
    skills        text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9_]{3,30}$')
);
-- E-mail addresses are unique regardless of case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (username);
-- Keyset pagination, newest first.
CREATE INDEX users_created ON users (created_at DESC, id DESC);
-- STAFF search over username, display name and e-mail.
CREATE INDEX users_search ON users USING gin ((username || ' ' || display_name || ' ' || email) gin_trgm_ops);

-- Refresh tokens: opaque to clients, stored hashed. Every rotation adds a row
-- to the same family; presenting a used token again revokes the family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE users;
