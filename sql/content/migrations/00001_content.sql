-- +goose Up
-- Content: channels, their members, posts, threaded comments and likes.
-- Users live in the users service: their ids here are references the router
-- resolves, never foreign keys.
CREATE TYPE channel_visibility AS ENUM ('PUBLIC', 'PRIVATE');
CREATE TYPE channel_role AS ENUM ('OWNER', 'ADMIN', 'MEMBER');
CREATE TYPE membership_status AS ENUM ('REQUESTED', 'INVITED', 'MEMBER', 'BANNED');
CREATE TYPE post_status AS ENUM ('DRAFT', 'PUBLISHED');

CREATE TABLE channels (
    id                 uuid PRIMARY KEY,
    -- Insertion order: "newest" sorts and pages on it, an exact integer key.
    seq                bigint      NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    slug               text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) BETWEEN 3 AND 50),
    name               text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 80),
    description        text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    visibility         channel_visibility NOT NULL,
    owner_id           uuid        NOT NULL,
    posting_restricted boolean     NOT NULL DEFAULT false,
    -- Counters are changed in the transaction that changes what they count,
    -- under the channel row's lock, so they stay exact under concurrency.
    member_count       int         NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    post_count         int         NOT NULL DEFAULT 0 CHECK (post_count >= 0),
    -- The last position given to a published post (posts.channel_seq):
    -- dense, in commit order, so postAdded replays by it without a gap.
    post_seq           bigint      NOT NULL DEFAULT 0,
    last_post_at       timestamptz,
    archived_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- The directory's full-text document, indexed as an expression rather than
-- stored, so rows read back are plain columns.
-- +goose StatementBegin
CREATE FUNCTION channel_document(name text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english'::regconfig, name), 'A') ||
           setweight(to_tsvector('english'::regconfig, description), 'B');
-- +goose StatementEnd
CREATE INDEX channels_search ON channels USING gin (channel_document(name, description));
CREATE INDEX channels_members ON channels (member_count DESC, seq DESC);
-- Activity: the last post's time, or the creation time before the first.
CREATE INDEX channels_activity ON channels ((coalesce(last_post_at, created_at)) DESC, seq DESC);

-- One row per user and channel: a request, an invitation, a membership or a
-- ban. role is set exactly for members.
CREATE TABLE memberships (
    channel_id     uuid              NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id        uuid              NOT NULL,
    status         membership_status NOT NULL,
    role           channel_role,
    notify_on_post boolean           NOT NULL DEFAULT false,
    -- When the current status began; seq orders members for paging.
    since          timestamptz       NOT NULL DEFAULT now(),
    seq            bigint            NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (channel_id, user_id),
    CHECK ((status = 'MEMBER') = (role IS NOT NULL))
);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (channel_id) WHERE role = 'OWNER';
-- A user's channels (User.channels, the feed), newest membership first.
CREATE INDEX memberships_user ON memberships (user_id, seq DESC) WHERE status = 'MEMBER';
CREATE INDEX memberships_channel ON memberships (channel_id, status, seq);
-- The audience of a new post's notifications.
CREATE INDEX memberships_notify ON memberships (channel_id, user_id) WHERE status = 'MEMBER' AND notify_on_post;

CREATE TABLE posts (
    id            uuid PRIMARY KEY,
    channel_id    uuid        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id     uuid        NOT NULL,
    title         text        NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
    body          text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 40000),
    status        post_status NOT NULL,
    -- Position among the channel's published posts (channels.post_seq).
    channel_seq   bigint,
    pinned_at     timestamptz,
    like_count    int         NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    comment_count int         NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    -- The last position given to a comment (comments.seq): dense, in commit
    -- order, for commentAdded's replay and the comments' paths.
    comment_seq   bigint      NOT NULL DEFAULT 0,
    hidden_at     timestamptz,
    hidden_reason text        CHECK (char_length(hidden_reason) <= 500),
    published_at  timestamptz,
    edited_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    UNIQUE (channel_id, channel_seq),
    CHECK ((status = 'PUBLISHED') = (published_at IS NOT NULL AND channel_seq IS NOT NULL))
);
-- A channel's feed, newest first; the user feed reads it once per joined
-- channel (a LATERAL top-N), so its cost grows with channels × page, not
-- with how much those channels ever published.
CREATE INDEX posts_channel_feed ON posts (channel_id, published_at DESC, id DESC)
    WHERE status = 'PUBLISHED' AND deleted_at IS NULL;
CREATE INDEX posts_author ON posts (author_id, published_at DESC, id DESC)
    WHERE status = 'PUBLISHED' AND deleted_at IS NULL;
CREATE INDEX posts_drafts ON posts (author_id, created_at DESC) WHERE status = 'DRAFT' AND deleted_at IS NULL;
CREATE INDEX posts_pinned ON posts (channel_id, pinned_at DESC) WHERE pinned_at IS NOT NULL AND deleted_at IS NULL;

-- Versions of a post replaced by edits after publishing.
CREATE TABLE post_edits (
    post_id     uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    body        text        NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now(),
    seq         bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (post_id, seq)
);

-- Comments form a tree stored as a materialized path: each comment's path is
-- its ancestors' seqs and its own, zero-padded to 10 digits and joined by
-- dots. In byte order ("C" collation) sorting by path is reading order (a
-- comment, then its replies, oldest first), and a sub-thread is one range
-- scan of the (post_id, path) index: path > 'P.' AND path < 'P/' ('/' follows
-- '.'). A closure table would need depth × rows extra rows; ltree would need
-- an extension for nothing a btree cannot do here.
CREATE TABLE comments (
    id            uuid PRIMARY KEY,
    post_id       uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id     uuid        REFERENCES comments (id) ON DELETE CASCADE,
    seq           bigint      NOT NULL,
    path          text        COLLATE "C" NOT NULL,
    depth         int         NOT NULL CHECK (depth >= 0),
    author_id     uuid        NOT NULL,
    body          text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    like_count    int         NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    reply_count   int         NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    hidden_at     timestamptz,
    hidden_reason text        CHECK (char_length(hidden_reason) <= 500),
    edited_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    UNIQUE (post_id, seq),
    UNIQUE (post_id, path),
    CHECK ((parent_id IS NULL) = (depth = 0))
);
CREATE INDEX comments_top ON comments (post_id, like_count DESC, seq) WHERE parent_id IS NULL;
CREATE INDEX comments_top_seq ON comments (post_id, seq) WHERE parent_id IS NULL;
CREATE INDEX comments_replies ON comments (parent_id, seq) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_author ON comments (author_id);

CREATE TABLE post_likes (
    post_id    uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE comment_likes (
    comment_id uuid        NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);

-- +goose Down
DROP TABLE comment_likes, post_likes, comments, post_edits, posts, memberships, channels;
DROP FUNCTION channel_document;
DROP TYPE post_status, membership_status, channel_role, channel_visibility;
