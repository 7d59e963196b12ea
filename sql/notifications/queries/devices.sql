-- name: UpsertDevice :one
-- Registers a token for a user, or refreshes the user's own registration. A
-- token registered to someone else is left alone: no row comes back.
INSERT INTO push_devices (id, user_id, token, platform)
VALUES (@id, @user_id, @token, @platform)
ON CONFLICT (token) DO UPDATE SET platform = EXCLUDED.platform, updated_at = now()
WHERE push_devices.user_id = EXCLUDED.user_id
RETURNING *;

-- name: DeleteDevice :execrows
DELETE FROM push_devices WHERE user_id = @user_id AND token = @token;

-- name: DeleteDeviceByID :exec
DELETE FROM push_devices WHERE id = $1;

-- name: ListDevices :many
SELECT * FROM push_devices WHERE user_id = $1 ORDER BY created_at, id;

-- name: PendingDevices :many
-- The recipient's devices a notification has not reached yet.
SELECT d.* FROM push_devices d
WHERE d.user_id = @user_id
  AND NOT EXISTS (SELECT 1 FROM push_deliveries p WHERE p.notification_id = @notification_id AND p.device_id = d.id)
ORDER BY d.created_at, d.id;

-- name: MarkPushDelivered :exec
INSERT INTO push_deliveries (notification_id, device_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING;
