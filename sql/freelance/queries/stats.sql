-- name: FreelancerOrderStats :many
-- Order counts of several freelancers in one statement. An order counts as
-- on time when its first delivery came by its due date.
SELECT f.id::uuid AS freelancer_id,
       count(o.id) FILTER (WHERE o.status = 'COMPLETED')::int AS completed_orders,
       count(o.id) FILTER (WHERE o.status IN ('PENDING', 'IN_PROGRESS', 'DELIVERED', 'REVISION_REQUESTED'))::int AS active_orders,
       count(o.id) FILTER (WHERE o.status = 'CANCELLED')::int AS cancelled_orders,
       count(o.id) FILTER (WHERE o.first_delivered_at IS NOT NULL)::int AS delivered_orders,
       count(o.id) FILTER (WHERE o.first_delivered_at <= o.due_at)::int AS on_time_orders
FROM unnest(@freelancer_ids::uuid[]) AS f (id)
LEFT JOIN orders o ON o.freelancer_id = f.id
GROUP BY f.id;

-- name: FreelancerEarnings :many
-- Completed orders' value per freelancer and currency (amounts in different
-- currencies are never added up).
SELECT freelancer_id, currency, sum(price_cents)::bigint AS amount_cents
FROM orders
WHERE freelancer_id = ANY(@freelancer_ids::uuid[]) AND status = 'COMPLETED'
GROUP BY freelancer_id, currency
ORDER BY freelancer_id, currency;

-- name: FreelancerRatings :many
SELECT freelancer_id, sum(rating)::int AS rating_sum, count(*)::int AS review_count
FROM reviews
WHERE freelancer_id = ANY(@freelancer_ids::uuid[])
GROUP BY freelancer_id;
