-- +goose Up
-- The transactional outbox: a domain change and the event it causes are
-- committed together; the relay (platform/outbox) hands unsent rows to asynq
-- with the row's id as the task id, so a re-sent row is rejected as a
-- duplicate instead of running twice.
CREATE TABLE outbox (
    id              uuid        PRIMARY KEY,
    task_type       text        NOT NULL CHECK (task_type <> ''),
    payload         jsonb       NOT NULL,
    queue           text        NOT NULL DEFAULT 'default' CHECK (queue <> ''),
    -- NULL: asynq's default retry count for the task.
    max_retry       int         CHECK (max_retry >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Enqueue attempts, successful or not; last_error keeps the latest failure
    -- for operators even after a later attempt succeeds.
    attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
-- The relay's claim query: due, unsent rows in order. Partial, so it stays as
-- small as the backlog however many sent rows the table keeps.
CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;
-- The purge of old sent rows.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE outbox;
