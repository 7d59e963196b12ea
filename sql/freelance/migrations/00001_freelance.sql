-- +goose Up
-- Freelance: a category tree, gigs with one to three packages, orders that
-- buy a package and move through a checked state machine, one review per
-- completed order, and freelancers' portfolios. Users live in the users
-- service: their ids here are references the router resolves, never foreign keys.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE gig_status AS ENUM ('DRAFT', 'ACTIVE', 'PAUSED');
CREATE TYPE package_tier AS ENUM ('BASIC', 'STANDARD', 'PREMIUM');
CREATE TYPE order_status AS ENUM ('PENDING', 'IN_PROGRESS', 'DELIVERED', 'REVISION_REQUESTED', 'COMPLETED', 'CANCELLED');

CREATE TABLE gig_categories (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id  uuid REFERENCES gig_categories (id),
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
    name       text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    position   int         NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id <> id)
);
-- Sibling names are unique regardless of case; roots are siblings too.
CREATE UNIQUE INDEX gig_categories_sibling_name
    ON gig_categories (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name));

-- The search document is built from text[] tags; array_to_string is only
-- STABLE (arrays of arbitrary types format by locale-dependent output
-- functions), but for text[] it is immutable, which generated columns need.
-- +goose StatementBegin
CREATE FUNCTION gig_tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(tags, ' ');
-- +goose StatementEnd

CREATE TABLE gigs (
    id                uuid PRIMARY KEY,
    -- Insertion order: "newest" sorts and pages on it, an exact integer key
    -- that keyset cursors compare without timestamp rounding.
    seq               bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    freelancer_id     uuid        NOT NULL,
    category_id       uuid        NOT NULL REFERENCES gig_categories (id),
    title             text        NOT NULL CHECK (char_length(title) BETWEEN 5 AND 120),
    description       text        NOT NULL CHECK (char_length(description) BETWEEN 1 AND 5000),
    tags              text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    currency          text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status            gig_status  NOT NULL DEFAULT 'DRAFT',
    -- The cheapest package's price and the fastest delivery, kept in step
    -- with gig_packages in the same transaction: filters and the price sort
    -- read them without a join.
    min_price_cents   int         NOT NULL CHECK (min_price_cents > 0),
    min_delivery_days int         NOT NULL CHECK (min_delivery_days BETWEEN 1 AND 90),
    -- rating = rating_sum / review_count, both updated with each review in
    -- its transaction, so the average is exact (no float drift).
    rating_sum        int         NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    review_count      int         NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- Soft delete: past orders keep pointing at the gig.
    deleted_at        timestamptz,
    -- Weighted full-text document: title (A) over tags (B) over description (C).
    search_vector     tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, gig_tags_text(tags)), 'B') ||
        setweight(to_tsvector('english'::regconfig, description), 'C')) STORED,
    -- Title and tags for trigram matching: typo tolerance.
    search_text       text        GENERATED ALWAYS AS (lower(title || ' ' || gig_tags_text(tags))) STORED
);
CREATE INDEX gigs_search ON gigs USING gin (search_vector) WHERE deleted_at IS NULL;
CREATE INDEX gigs_search_trgm ON gigs USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX gigs_freelancer ON gigs (freelancer_id, seq DESC) WHERE deleted_at IS NULL;
CREATE INDEX gigs_public_newest ON gigs (seq DESC) WHERE status = 'ACTIVE' AND deleted_at IS NULL;
CREATE INDEX gigs_category ON gigs (category_id) WHERE deleted_at IS NULL;

-- gig_rows is what the service reads: every column but the search ones,
-- which only queries' WHERE clauses need.
CREATE VIEW gig_rows AS
SELECT id, seq, freelancer_id, category_id, title, description, tags, currency, status,
       min_price_cents, min_delivery_days, rating_sum, review_count, created_at, updated_at, deleted_at
FROM gigs;

CREATE TABLE gig_packages (
    gig_id        uuid         NOT NULL REFERENCES gigs (id) ON DELETE CASCADE,
    tier          package_tier NOT NULL,
    title         text         NOT NULL CHECK (char_length(title) BETWEEN 1 AND 80),
    description   text         NOT NULL DEFAULT '',
    price_cents   int          NOT NULL CHECK (price_cents > 0),
    delivery_days int          NOT NULL CHECK (delivery_days BETWEEN 1 AND 90),
    revisions     int          NOT NULL CHECK (revisions >= 0),
    features      text[]       NOT NULL DEFAULT '{}',
    PRIMARY KEY (gig_id, tier)
);

CREATE TABLE orders (
    id                 uuid PRIMARY KEY,
    gig_id             uuid         NOT NULL REFERENCES gigs (id),
    buyer_id           uuid         NOT NULL,
    freelancer_id      uuid         NOT NULL,
    tier               package_tier NOT NULL,
    -- Snapshots of the package at placement: later edits to the gig never
    -- change what was bought.
    gig_title          text         NOT NULL,
    package_title      text         NOT NULL,
    price_cents        int          NOT NULL CHECK (price_cents > 0),
    currency           text         NOT NULL,
    delivery_days      int          NOT NULL,
    revisions_allowed  int          NOT NULL CHECK (revisions_allowed >= 0),
    revisions_used     int          NOT NULL DEFAULT 0 CHECK (revisions_used BETWEEN 0 AND revisions_allowed),
    requirements       text         NOT NULL DEFAULT '',
    status             order_status NOT NULL DEFAULT 'PENDING',
    due_at             timestamptz  NOT NULL,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    started_at         timestamptz,
    -- The first delivery decides whether the order was on time; delivered_at
    -- is the latest one, which auto-completion counts from.
    first_delivered_at timestamptz,
    delivered_at       timestamptz,
    completed_at       timestamptz,
    cancelled_at       timestamptz,
    CHECK (buyer_id <> freelancer_id)
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX orders_freelancer ON orders (freelancer_id, created_at DESC, id DESC);
CREATE INDEX orders_gig ON orders (gig_id);
-- The auto-completion sweep.
CREATE INDEX orders_delivered ON orders (delivered_at) WHERE status = 'DELIVERED';

-- The timeline: one row per transition, placement included.
CREATE TABLE order_events (
    id          uuid PRIMARY KEY,
    seq         bigint       GENERATED ALWAYS AS IDENTITY,
    order_id    uuid         NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status order_status,
    to_status   order_status NOT NULL,
    -- NULL: the platform acted (auto-completion).
    actor_id    uuid,
    message     text,
    created_at  timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id, seq);

CREATE TABLE reviews (
    id            uuid PRIMARY KEY,
    order_id      uuid        NOT NULL UNIQUE REFERENCES orders (id),
    gig_id        uuid        NOT NULL REFERENCES gigs (id),
    buyer_id      uuid        NOT NULL,
    freelancer_id uuid        NOT NULL,
    rating        int         NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment       text        NOT NULL DEFAULT '' CHECK (char_length(comment) <= 5000),
    reply         text        CHECK (char_length(reply) BETWEEN 1 AND 5000),
    replied_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((reply IS NULL) = (replied_at IS NULL))
);
CREATE INDEX reviews_gig ON reviews (gig_id, created_at DESC, id DESC);
CREATE INDEX reviews_freelancer ON reviews (freelancer_id);

CREATE TABLE portfolio_items (
    id            uuid PRIMARY KEY,
    freelancer_id uuid        NOT NULL,
    title         text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    description   text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    image_url     text,
    project_url   text,
    gig_id        uuid        REFERENCES gigs (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portfolio_items_freelancer ON portfolio_items (freelancer_id, created_at DESC, id DESC);

-- The category tree every environment starts with; STAFF add more with
-- createGigCategory.
INSERT INTO gig_categories (slug, name, position) VALUES
    ('graphics-design', 'Graphics & Design', 1),
    ('programming-tech', 'Programming & Tech', 2),
    ('writing-translation', 'Writing & Translation', 3),
    ('digital-marketing', 'Digital Marketing', 4),
    ('video-animation', 'Video & Animation', 5),
    ('music-audio', 'Music & Audio', 6);
INSERT INTO gig_categories (parent_id, slug, name, position)
SELECT p.id, c.slug, c.name, c.position
FROM (VALUES
    ('graphics-design', 'logo-design', 'Logo Design', 1),
    ('graphics-design', 'illustration', 'Illustration', 2),
    ('graphics-design', 'web-app-design', 'Web & App Design', 3),
    ('programming-tech', 'web-development', 'Web Development', 1),
    ('programming-tech', 'mobile-apps', 'Mobile Apps', 2),
    ('programming-tech', 'devops-cloud', 'DevOps & Cloud', 3),
    ('programming-tech', 'data-ml', 'Data Science & ML', 4),
    ('writing-translation', 'articles-blog-posts', 'Articles & Blog Posts', 1),
    ('writing-translation', 'translation', 'Translation', 2),
    ('writing-translation', 'copywriting', 'Copywriting', 3),
    ('digital-marketing', 'seo', 'SEO', 1),
    ('digital-marketing', 'social-media', 'Social Media Marketing', 2),
    ('video-animation', 'video-editing', 'Video Editing', 1),
    ('video-animation', 'explainer-videos', 'Animated Explainers', 2),
    ('music-audio', 'mixing-mastering', 'Mixing & Mastering', 1),
    ('music-audio', 'voice-over', 'Voice Over', 2)
) AS c (parent, slug, name, position)
JOIN gig_categories p ON p.slug = c.parent;
-- A third level, so "including subcategories" means more than children.
INSERT INTO gig_categories (parent_id, slug, name, position)
SELECT p.id, c.slug, c.name, c.position
FROM (VALUES
    ('web-development', 'frontend', 'Frontend', 1),
    ('web-development', 'backend-apis', 'Backend & APIs', 2)
) AS c (parent, slug, name, position)
JOIN gig_categories p ON p.slug = c.parent;

-- +goose Down
DROP TABLE portfolio_items;
DROP TABLE reviews;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE gig_packages;
DROP VIEW gig_rows;
DROP TABLE gigs;
DROP FUNCTION gig_tags_text;
DROP TABLE gig_categories;
DROP TYPE order_status;
DROP TYPE package_tier;
DROP TYPE gig_status;
