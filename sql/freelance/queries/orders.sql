-- name: CreateOrder :one
INSERT INTO orders (id, gig_id, buyer_id, freelancer_id, tier, gig_title, package_title, price_cents,
                    currency, delivery_days, revisions_allowed, requirements, due_at, created_at, updated_at)
VALUES (@id, @gig_id, @buyer_id, @freelancer_id, @tier, @gig_title, @package_title, @price_cents,
        @currency, @delivery_days, @revisions_allowed, @requirements, @due_at, @now, @now)
RETURNING *;

-- name: GetOrderForUpdate :one
-- Every transition locks its order first: of two racing transitions the
-- second waits, then sees the first's outcome and is checked against it.
SELECT * FROM orders WHERE id = $1 FOR UPDATE;

-- name: GetOrders :many
SELECT * FROM orders WHERE id = ANY(@ids::uuid[]);

-- name: TransitionOrder :one
-- Moves an order to status and stamps the matching timestamp.
UPDATE orders SET
    status             = @status::order_status,
    updated_at         = @now::timestamptz,
    started_at         = CASE WHEN @status::order_status = 'IN_PROGRESS' THEN @now::timestamptz ELSE started_at END,
    delivered_at       = CASE WHEN @status::order_status = 'DELIVERED' THEN @now::timestamptz ELSE delivered_at END,
    first_delivered_at = CASE WHEN @status::order_status = 'DELIVERED' THEN coalesce(first_delivered_at, @now::timestamptz) ELSE first_delivered_at END,
    completed_at       = CASE WHEN @status::order_status = 'COMPLETED' THEN @now::timestamptz ELSE completed_at END,
    cancelled_at       = CASE WHEN @status::order_status = 'CANCELLED' THEN @now::timestamptz ELSE cancelled_at END,
    revisions_used     = revisions_used + CASE WHEN @status::order_status = 'REVISION_REQUESTED' THEN 1 ELSE 0 END
WHERE id = @id
RETURNING *;

-- name: InsertOrderEvent :exec
INSERT INTO order_events (id, order_id, from_status, to_status, actor_id, message, created_at)
VALUES (@id, @order_id, sqlc.narg(from_status), @to_status, sqlc.narg(actor_id), sqlc.narg(message), @created_at);

-- name: OrderEvents :many
SELECT * FROM order_events WHERE order_id = ANY(@order_ids::uuid[]) ORDER BY order_id, seq;

-- name: ListUserOrders :many
-- A user's orders as buyer, freelancer or either; newest first.
SELECT * FROM orders
WHERE (CASE sqlc.narg(role)::text
           WHEN 'BUYER' THEN buyer_id = @user_id
           WHEN 'FREELANCER' THEN freelancer_id = @user_id
           ELSE buyer_id = @user_id OR freelancer_id = @user_id
       END)
  AND (sqlc.narg(status)::order_status IS NULL OR status = sqlc.narg(status)::order_status)
  AND (sqlc.narg(after_created)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: DeliveredBefore :many
-- Orders auto-completion may take, oldest delivery first.
SELECT id FROM orders
WHERE status = 'DELIVERED' AND delivered_at < @before
ORDER BY delivered_at
LIMIT @lim;
