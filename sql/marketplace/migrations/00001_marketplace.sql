-- +goose Up
-- Marketplace: a product category tree, sellers' products with attributes,
-- favourites and reviews. Users live in the users service: their ids here
-- are references the router resolves, never foreign keys.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE product_status AS ENUM ('DRAFT', 'ACTIVE', 'SOLD_OUT', 'ARCHIVED');
CREATE TYPE product_condition AS ENUM ('NEW', 'LIKE_NEW', 'USED', 'REFURBISHED');

CREATE TABLE product_categories (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES product_categories (id),
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
    name       text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 80),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id <> id)
);
-- Sibling names are unique regardless of case; roots are siblings too.
CREATE UNIQUE INDEX product_categories_sibling_name
    ON product_categories (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name));

-- The search document: title (A) over attributes (B) over description (C),
-- and the text trigrams match for typo tolerance. Functions of the row's
-- columns, indexed as expressions, so rows read back are plain columns.
-- +goose StatementBegin
CREATE FUNCTION product_attributes_text(attributes jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce((SELECT string_agg(a->>'name' || ' ' || (a->>'value'), ' ') FROM jsonb_array_elements(attributes) a), '');
CREATE FUNCTION product_document(title text, description text, attributes jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english'::regconfig, title), 'A') ||
           setweight(to_tsvector('english'::regconfig, product_attributes_text(attributes)), 'B') ||
           setweight(to_tsvector('english'::regconfig, description), 'C');
CREATE FUNCTION product_search_text(title text, attributes jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(title || ' ' || product_attributes_text(attributes));
-- +goose StatementEnd

CREATE TABLE products (
    id             uuid PRIMARY KEY,
    -- Insertion order: "newest" sorts on it, an exact integer key.
    seq            bigint            NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    seller_id      uuid              NOT NULL,
    category_id    uuid              NOT NULL REFERENCES product_categories (id),
    slug           text              NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 140),
    title          text              NOT NULL CHECK (char_length(title) BETWEEN 5 AND 120),
    description    text              NOT NULL CHECK (char_length(description) <= 10000),
    price_cents    int               NOT NULL CHECK (price_cents BETWEEN 1 AND 100000000),
    currency       text              NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock          int               NOT NULL CHECK (stock >= 0),
    condition      product_condition NOT NULL,
    status         product_status    NOT NULL,
    -- [{"name": ..., "value": ...}], names unique; filtered with @>.
    attributes     jsonb             NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attributes) = 'array' AND jsonb_array_length(attributes) <= 20),
    -- Reviews and favourites are counted in the transactions that change
    -- them, under this row's lock: the average and the counts are exact.
    rating_sum     int               NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    review_count   int               NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    -- Reviews per rating, 1 to 5 stars.
    rating_counts  int[]             NOT NULL DEFAULT '{0,0,0,0,0}' CHECK (cardinality(rating_counts) = 5),
    favorite_count int               NOT NULL DEFAULT 0 CHECK (favorite_count >= 0),
    created_at     timestamptz       NOT NULL DEFAULT now(),
    updated_at     timestamptz       NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    CHECK (status <> 'ACTIVE' OR stock > 0)
);
-- Listed products: what search reads.
CREATE INDEX products_search ON products USING gin (product_document(title, description, attributes))
    WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_search_trgm ON products USING gin (product_search_text(title, attributes) gin_trgm_ops)
    WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_attributes ON products USING gin (attributes jsonb_path_ops)
    WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_listed_newest ON products (seq DESC) WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_listed_category ON products (category_id, seq DESC) WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_listed_price ON products (price_cents, seq) WHERE status IN ('ACTIVE', 'SOLD_OUT') AND deleted_at IS NULL;
CREATE INDEX products_seller ON products (seller_id, seq DESC) WHERE deleted_at IS NULL;
CREATE INDEX products_category ON products (category_id) WHERE deleted_at IS NULL;

CREATE TABLE favorites (
    product_id uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    seq        bigint      NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (product_id, user_id)
);
CREATE INDEX favorites_user ON favorites (user_id, seq DESC);

CREATE TABLE product_reviews (
    id         uuid PRIMARY KEY,
    seq        bigint      NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    product_id uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    author_id  uuid        NOT NULL,
    rating     int         NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    text        CHECK (char_length(comment) <= 5000),
    reply      text        CHECK (char_length(reply) <= 5000),
    replied_at timestamptz,
    edited_at  timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, author_id)
);
CREATE INDEX product_reviews_product ON product_reviews (product_id, seq DESC);

-- +goose Down
DROP TABLE product_reviews, favorites, products, product_categories;
DROP FUNCTION product_search_text, product_document, product_attributes_text;
DROP TYPE product_condition, product_status;
