-- name: CreateGig :exec
INSERT INTO gigs (id, freelancer_id, category_id, title, description, tags, currency, status,
                  min_price_cents, min_delivery_days)
VALUES (@id, @freelancer_id, @category_id, @title, @description, @tags, @currency, @status,
        @min_price_cents, @min_delivery_days);

-- name: UpdateGig :exec
UPDATE gigs SET
    category_id       = @category_id,
    title             = @title,
    description       = @description,
    tags              = @tags,
    currency          = @currency,
    min_price_cents   = @min_price_cents,
    min_delivery_days = @min_delivery_days,
    updated_at        = now()
WHERE id = @id;

-- name: SetGigStatus :exec
UPDATE gigs SET status = @status, updated_at = now() WHERE id = @id;

-- name: SoftDeleteGig :exec
UPDATE gigs SET deleted_at = now(), updated_at = now() WHERE id = @id AND deleted_at IS NULL;

-- name: GetGigForUpdate :one
-- Locks the gig: edits, status changes and placements serialise on it.
SELECT * FROM gig_rows WHERE id = $1 FOR UPDATE;

-- name: GetGigs :many
SELECT * FROM gig_rows WHERE id = ANY(@ids::uuid[]);

-- name: DeletePackages :exec
DELETE FROM gig_packages WHERE gig_id = $1;

-- name: InsertPackages :copyfrom
INSERT INTO gig_packages (gig_id, tier, title, description, price_cents, delivery_days, revisions, features)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: PackagesByGigs :many
SELECT * FROM gig_packages WHERE gig_id = ANY(@gig_ids::uuid[]) ORDER BY gig_id, tier;

-- name: GetPackage :one
SELECT * FROM gig_packages WHERE gig_id = $1 AND tier = $2;

-- name: GigsByFreelancers :many
-- One page of gigs for each freelancer, newest first, in one statement.
-- Drafts and paused gigs are included only for the ids in all_for (the
-- viewer's own, or everyone's for STAFF).
SELECT g.*
FROM unnest(@freelancer_ids::uuid[]) AS f (id)
CROSS JOIN LATERAL (
    SELECT * FROM gig_rows r
    WHERE r.freelancer_id = f.id AND r.deleted_at IS NULL
      AND (r.status = 'ACTIVE' OR r.freelancer_id = ANY(@all_for::uuid[]))
      AND (sqlc.narg(after_seq)::bigint IS NULL OR r.seq < sqlc.narg(after_seq)::bigint)
    ORDER BY r.seq DESC
    LIMIT @lim
) AS g;

-- name: SearchGigs :many
-- The public catalogue: ACTIVE gigs only. Every sort is expressed as one
-- float8 sort_key, descending, with the id as tie-breaker, so one keyset
-- cursor (sort_key, id) pages any sort; new rows land at their position and
-- never shift or repeat rows on pages already read. The keys are exact:
-- seq and prices are integers well inside float8's 2^53, and relevance and
-- rating come from deterministic expressions over stored values.
-- One statement answers the whole page: gigs is scanned once for the page's
-- ids, then only those rows are read with their packages, aggregated into
-- parallel arrays, so a page of gigs with packages costs one round trip.
WITH RECURSIVE
categories (id) AS (
    SELECT c.id FROM gig_categories c WHERE c.id = sqlc.narg(category_id)::uuid
    UNION ALL
    SELECT c.id FROM gig_categories c JOIN categories p ON c.parent_id = p.id
),
input AS (
    SELECT websearch_to_tsquery('english', coalesce(sqlc.narg(search)::text, '')) AS tsq,
           lower(coalesce(sqlc.narg(search)::text, '')) AS raw
),
page AS (
    SELECT g.id, k.sort_key
    FROM gigs g
    CROSS JOIN input i
    -- Cover density ranking over the weighted document, normalised by
    -- document length (32: rank/(rank+1)), plus the trigram word similarity
    -- of the query to title and tags, and to the title alone: what lets a
    -- misspelt query still match, and rank a title match above a tag match
    -- as the weights do for words.
    CROSS JOIN LATERAL (
        SELECT CASE WHEN i.raw = '' THEN 0::float8
                    ELSE ts_rank_cd('{0.1, 0.3, 0.6, 1.0}', g.search_vector, i.tsq, 32)::float8
                         + 0.4 * word_similarity(i.raw, g.search_text)::float8
                         + 0.2 * word_similarity(i.raw, lower(g.title))::float8
               END AS relevance
    ) m
    CROSS JOIN LATERAL (
        SELECT (CASE @sort::text
                    WHEN 'RELEVANCE'  THEN m.relevance
                    WHEN 'PRICE_ASC'  THEN -g.min_price_cents::float8
                    WHEN 'PRICE_DESC' THEN g.min_price_cents::float8
                    WHEN 'RATING'     THEN CASE WHEN g.review_count = 0 THEN 0::float8
                                                ELSE g.rating_sum::float8 / g.review_count END
                    ELSE g.seq::float8
                END)::float8 AS sort_key
    ) k
    WHERE g.status = 'ACTIVE' AND g.deleted_at IS NULL
      AND (i.raw = '' OR g.search_vector @@ i.tsq OR i.raw <% g.search_text)
      AND (sqlc.narg(category_id)::uuid IS NULL OR g.category_id IN (SELECT id FROM categories))
      AND (sqlc.narg(freelancer_id)::uuid IS NULL OR g.freelancer_id = sqlc.narg(freelancer_id)::uuid)
      AND (sqlc.narg(min_price_cents)::int IS NULL OR g.min_price_cents >= sqlc.narg(min_price_cents)::int)
      AND (sqlc.narg(max_price_cents)::int IS NULL OR g.min_price_cents <= sqlc.narg(max_price_cents)::int)
      AND (sqlc.narg(max_delivery_days)::int IS NULL OR g.min_delivery_days <= sqlc.narg(max_delivery_days)::int)
      AND (sqlc.narg(tag)::text IS NULL OR sqlc.narg(tag)::text = ANY(g.tags))
      AND (sqlc.narg(after_key)::float8 IS NULL
           OR (k.sort_key, g.id) < (sqlc.narg(after_key)::float8, sqlc.narg(after_id)::uuid))
    ORDER BY k.sort_key DESC, g.id DESC
    LIMIT @lim
)
SELECT sqlc.embed(r), p.sort_key,
       pk.tiers::text[] AS package_tiers, pk.titles::text[] AS package_titles,
       pk.descriptions::text[] AS package_descriptions, pk.prices::int[] AS package_price_cents,
       pk.days::int[] AS package_delivery_days, pk.revisions::int[] AS package_revisions,
       pk.features::text[] AS package_features
FROM page p
JOIN gig_rows r ON r.id = p.id
-- One aggregation over the gig's packages read in tier order: every array
-- lists them alike (the service sorts by tier again rather than rely on
-- it). features, ragged, travel as one JSON array per package.
CROSS JOIN LATERAL (
    SELECT array_agg(gp.tier::text) AS tiers, array_agg(gp.title) AS titles,
           array_agg(gp.description) AS descriptions, array_agg(gp.price_cents) AS prices,
           array_agg(gp.delivery_days) AS days, array_agg(gp.revisions) AS revisions,
           array_agg(array_to_json(gp.features)::text) AS features
    FROM (SELECT * FROM gig_packages WHERE gig_id = p.id ORDER BY tier) gp
) pk
ORDER BY p.sort_key DESC, p.id DESC;

-- name: GetGigForShare :one
-- Placing an order reads the gig and its package under a share lock, so an
-- edit cannot change them between the read and the snapshot, while
-- placements on the same gig still run side by side.
SELECT * FROM gig_rows WHERE id = $1 FOR SHARE;
