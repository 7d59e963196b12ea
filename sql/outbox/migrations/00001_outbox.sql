-- +goose Up
-- The transactional outbox: a domain change and the event it causes are
-- committed together; the relay hands unsent rows to the task queue.
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    task_type    text        NOT NULL,
    payload      jsonb       NOT NULL,
    queue        text        NOT NULL DEFAULT 'default',
    created_at   timestamptz NOT NULL DEFAULT now(),
    attempts     int         NOT NULL DEFAULT 0,
    last_error   text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
