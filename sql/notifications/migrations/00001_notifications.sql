-- +goose Up
-- One row per delivered event: id is the event id, so storing is idempotent.
-- seq orders a recipient's notifications by commit: deliveries to one
-- recipient take an advisory lock (LockRecipient), so a higher seq is always
-- committed later, which lets subscriptions replay "after" an id without gaps.
CREATE TABLE notifications (
    id            uuid PRIMARY KEY,
    seq           bigint      NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    recipient_id  uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind ~ '^[A-Z][A-Z0-9_]{0,63}$'),
    title         text        NOT NULL,
    body          text        NOT NULL DEFAULT '',
    link          text,
    data          jsonb       NOT NULL DEFAULT '{}',
    -- false when the recipient had in-app delivery off or the kind muted at
    -- delivery time: the row still records the event (idempotency, e-mail and
    -- push rendering) but is never listed, counted or published.
    in_app        boolean     NOT NULL DEFAULT true,
    read_at       timestamptz,
    created_at    timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    -- Per-channel delivery status: decided at delivery from the preferences
    -- (SKIPPED or QUEUED), then SENT or FAILED by the worker.
    email_status  text        NOT NULL DEFAULT 'SKIPPED'
                  CHECK (email_status IN ('SKIPPED', 'QUEUED', 'SENT', 'FAILED')),
    email_sent_at timestamptz,
    email_error   text,
    push_status   text        NOT NULL DEFAULT 'SKIPPED'
                  CHECK (push_status IN ('SKIPPED', 'QUEUED', 'SENT', 'FAILED')),
    push_sent_at  timestamptz,
    push_error    text
);
-- A recipient's list, newest first, and the replay after a seq.
CREATE INDEX notifications_recipient ON notifications (recipient_id, seq) WHERE in_app;
-- The unread count and the digest.
CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE in_app AND read_at IS NULL;
-- The purge of old read (and never shown) notifications.
CREATE INDEX notifications_read ON notifications (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX notifications_hidden ON notifications (stored_at) WHERE NOT in_app;

-- Per-user channel switches and muted kinds; a user without a row has the
-- defaults (everything on, nothing muted).
CREATE TABLE preferences (
    user_id     uuid PRIMARY KEY,
    email       boolean     NOT NULL DEFAULT true,
    in_app      boolean     NOT NULL DEFAULT true,
    push        boolean     NOT NULL DEFAULT true,
    muted_kinds text[]      NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Push devices. A token identifies one app installation: registering it again
-- (another user signed in on the device) moves it to that user.
CREATE TABLE push_devices (
    id         uuid PRIMARY KEY,
    user_id    uuid        NOT NULL,
    token      text        NOT NULL UNIQUE CHECK (length(token) BETWEEN 1 AND 4096),
    platform   text        NOT NULL CHECK (platform IN ('IOS', 'ANDROID', 'WEB')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_devices_user ON push_devices (user_id);

-- Which devices a notification already reached, so a retried push:send only
-- goes to the devices that failed.
CREATE TABLE push_deliveries (
    notification_id uuid        NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    device_id       uuid        NOT NULL REFERENCES push_devices (id) ON DELETE CASCADE,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, device_id)
);

-- The recipient directory: this service's copy of what it needs to know about
-- users (e-mail address, name, roles), fed by the users service's
-- user:changed events. E-mail and broadcasts read it; the users database is
-- another service's. version is the user's updated_at in the event: older
-- events arriving late never overwrite newer ones.
CREATE TABLE recipients (
    user_id      uuid PRIMARY KEY,
    email        text        NOT NULL DEFAULT '',
    username     text        NOT NULL DEFAULT '',
    display_name text        NOT NULL DEFAULT '',
    roles        text[]      NOT NULL DEFAULT '{}',
    deleted      boolean     NOT NULL DEFAULT false,
    version      timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipients_roles ON recipients USING gin (roles);

-- Broadcasts requested by STAFF; the worker fans them out in batches.
CREATE TABLE broadcasts (
    id           uuid PRIMARY KEY,
    sender_id    uuid        NOT NULL,
    -- NULL: every user.
    role         text,
    title        text        NOT NULL,
    body         text        NOT NULL DEFAULT '',
    link         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered    int         NOT NULL DEFAULT 0,
    completed_at timestamptz
);

-- +goose Down
DROP TABLE broadcasts;
DROP TABLE recipients;
DROP TABLE push_deliveries;
DROP TABLE push_devices;
DROP TABLE preferences;
DROP TABLE notifications;
