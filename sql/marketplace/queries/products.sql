-- name: CreateProduct :one
INSERT INTO products (id, seller_id, category_id, slug, title, description, price_cents, currency, stock, condition, status, attributes)
VALUES (@id, @seller_id, @category_id, @slug, @title, @description, @price_cents, @currency, @stock, @condition, @status, @attributes)
RETURNING *;

-- name: GetProduct :one
SELECT * FROM products WHERE id = $1 AND deleted_at IS NULL;

-- name: GetProductForUpdate :one
SELECT * FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE;

-- name: GetProductIDBySlug :one
SELECT id FROM products WHERE slug = $1 AND deleted_at IS NULL;

-- name: GetProducts :many
SELECT * FROM products WHERE id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: UpdateProduct :one
UPDATE products SET title = @title, description = @description, category_id = @category_id,
    price_cents = @price_cents, stock = @stock, condition = @condition, status = @status,
    attributes = @attributes, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SoftDeleteProduct :exec
UPDATE products SET deleted_at = now(), updated_at = now() WHERE id = $1;

-- name: AddFavoriteCount :one
UPDATE products SET favorite_count = favorite_count + @delta::int WHERE id = @id RETURNING *;

-- name: AddReviewToProduct :one
-- Adds a rating (and takes back an old one when a review is edited).
UPDATE products SET
    rating_sum = rating_sum - coalesce(sqlc.narg(old_rating)::int, 0) + @rating::int,
    review_count = review_count + CASE WHEN sqlc.narg(old_rating)::int IS NULL THEN 1 ELSE 0 END,
    rating_counts = (SELECT array_agg(n + CASE WHEN i = @rating::int THEN 1 ELSE 0 END
                                          - CASE WHEN i = sqlc.narg(old_rating)::int THEN 1 ELSE 0 END ORDER BY i)
                     FROM unnest(rating_counts) WITH ORDINALITY AS r(n, i))
WHERE id = @id
RETURNING *;

-- name: ListSellerProducts :many
-- Several sellers' catalogues, newest first, at most max_rows each after the
-- given seq: listed products, and all of them for the viewer's own catalogue
-- and for STAFF. One statement for a page of users.
SELECT pr.* FROM unnest(@seller_ids::uuid[]) AS s(id)
CROSS JOIN LATERAL (
    SELECT * FROM products p
    WHERE p.seller_id = s.id AND p.deleted_at IS NULL
      AND (@staff::boolean OR p.seller_id = @viewer_id::uuid OR p.status IN ('ACTIVE', 'SOLD_OUT'))
      AND (sqlc.narg(after_seq)::bigint IS NULL OR p.seq < sqlc.narg(after_seq)::bigint)
    ORDER BY p.seq DESC
    LIMIT @max_rows
) pr
ORDER BY pr.seller_id, pr.seq DESC;

-- name: SearchProducts :many
-- Listed products matching the filters, in one sort. Every sort is one
-- float8 sort_key, descending, with the id as tie-breaker, so one keyset
-- cursor (sort_key, id) pages any sort and new rows never shift or repeat
-- rows on pages already read. Keys are exact: seq, prices and counts are
-- integers well inside float8's 2^53, rating and relevance come from
-- deterministic expressions over stored values.
WITH RECURSIVE
categories (id) AS (
    SELECT c.id FROM product_categories c WHERE c.id = sqlc.narg(category_id)::uuid
    UNION ALL
    SELECT c.id FROM product_categories c JOIN categories p ON c.parent_id = p.id
),
input AS (
    SELECT websearch_to_tsquery('english', coalesce(sqlc.narg(search)::text, '')) AS tsq,
           lower(coalesce(sqlc.narg(search)::text, '')) AS raw
)
SELECT sqlc.embed(p), k.sort_key
FROM products p
CROSS JOIN input i
-- Cover density over the weighted document, plus the trigram word
-- similarity of the query to title and attributes: a misspelt query still
-- matches and ranks.
CROSS JOIN LATERAL (
    SELECT CASE WHEN i.raw = '' THEN 0::float8
                ELSE round((ts_rank_cd('{0.1, 0.3, 0.6, 1.0}', product_document(p.title, p.description, p.attributes), i.tsq, 32)::float8
                     + 0.5 * word_similarity(i.raw, product_search_text(p.title, p.attributes))::float8)::numeric, 6)::float8
           END AS relevance
) m
CROSS JOIN LATERAL (
    SELECT (CASE @sort::text
                WHEN 'RELEVANCE'  THEN m.relevance
                WHEN 'PRICE_ASC'  THEN -p.price_cents::float8
                WHEN 'PRICE_DESC' THEN p.price_cents::float8
                WHEN 'RATING'     THEN CASE WHEN p.review_count = 0 THEN 0::float8
                                            ELSE round(p.rating_sum::numeric / p.review_count, 6)::float8 END
                WHEN 'POPULARITY' THEN p.favorite_count::float8
                ELSE p.seq::float8
            END)::float8 AS sort_key
) k
WHERE p.status IN ('ACTIVE', 'SOLD_OUT') AND p.deleted_at IS NULL
  AND (i.raw = '' OR product_document(p.title, p.description, p.attributes) @@ i.tsq
       OR i.raw <% product_search_text(p.title, p.attributes))
  AND (sqlc.narg(category_id)::uuid IS NULL OR p.category_id IN (SELECT id FROM categories))
  AND (sqlc.narg(seller_id)::uuid IS NULL OR p.seller_id = sqlc.narg(seller_id)::uuid)
  AND (sqlc.narg(min_price_cents)::int IS NULL OR p.price_cents >= sqlc.narg(min_price_cents)::int)
  AND (sqlc.narg(max_price_cents)::int IS NULL OR p.price_cents <= sqlc.narg(max_price_cents)::int)
  AND (sqlc.narg(min_rating)::float8 IS NULL
       OR (p.review_count > 0 AND p.rating_sum::float8 >= sqlc.narg(min_rating)::float8 * p.review_count))
  AND (sqlc.narg(in_stock)::boolean IS NULL OR (p.stock > 0) = sqlc.narg(in_stock)::boolean)
  AND (sqlc.narg(condition)::product_condition IS NULL OR p.condition = sqlc.narg(condition)::product_condition)
  -- Each attribute filter is one array of alternatives, [{"name","value"}]:
  -- the product must have one of each.
  AND NOT EXISTS (
      SELECT 1 FROM jsonb_array_elements(@attribute_filters::jsonb) f
      WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(f) alt WHERE p.attributes @> jsonb_build_array(alt)))
  AND (sqlc.narg(after_key)::float8 IS NULL
       OR (k.sort_key, p.id) < (sqlc.narg(after_key)::float8, sqlc.narg(after_id)::uuid))
ORDER BY k.sort_key DESC, p.id DESC
LIMIT @lim;

-- name: ProductFacets :many
-- The facets of a search: matching products per category (with the price
-- filter) and per price bucket (without it, so other ranges show what they
-- hold). The same filters as SearchProducts, but paging.
WITH RECURSIVE
categories (id) AS (
    SELECT c.id FROM product_categories c WHERE c.id = sqlc.narg(category_id)::uuid
    UNION ALL
    SELECT c.id FROM product_categories c JOIN categories p ON c.parent_id = p.id
),
input AS (
    SELECT websearch_to_tsquery('english', coalesce(sqlc.narg(search)::text, '')) AS tsq,
           lower(coalesce(sqlc.narg(search)::text, '')) AS raw
),
matched AS (
    SELECT p.category_id, p.price_cents,
           (sqlc.narg(min_price_cents)::int IS NULL OR p.price_cents >= sqlc.narg(min_price_cents)::int)
       AND (sqlc.narg(max_price_cents)::int IS NULL OR p.price_cents <= sqlc.narg(max_price_cents)::int) AS in_price
    FROM products p
    CROSS JOIN input i
    WHERE p.status IN ('ACTIVE', 'SOLD_OUT') AND p.deleted_at IS NULL
      AND (i.raw = '' OR product_document(p.title, p.description, p.attributes) @@ i.tsq
           OR i.raw <% product_search_text(p.title, p.attributes))
      AND (sqlc.narg(category_id)::uuid IS NULL OR p.category_id IN (SELECT id FROM categories))
      AND (sqlc.narg(seller_id)::uuid IS NULL OR p.seller_id = sqlc.narg(seller_id)::uuid)
      AND (sqlc.narg(min_rating)::float8 IS NULL
           OR (p.review_count > 0 AND p.rating_sum::float8 >= sqlc.narg(min_rating)::float8 * p.review_count))
      AND (sqlc.narg(in_stock)::boolean IS NULL OR (p.stock > 0) = sqlc.narg(in_stock)::boolean)
      AND (sqlc.narg(condition)::product_condition IS NULL OR p.condition = sqlc.narg(condition)::product_condition)
      AND NOT EXISTS (
          SELECT 1 FROM jsonb_array_elements(@attribute_filters::jsonb) f
          WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(f) alt WHERE p.attributes @> jsonb_build_array(alt)))
)
SELECT 'price'::text AS kind, NULL::uuid AS category_id, width_bucket(price_cents, @bucket_bounds::int[])::int AS bucket, count(*)::int AS n
FROM matched GROUP BY 3
UNION ALL
SELECT 'category'::text, category_id, 0::int, count(*)::int
FROM matched WHERE in_price GROUP BY category_id;
