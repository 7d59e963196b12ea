-- +goose Up
-- sent_at only says the task reached Redis, and Redis can lose it again (a
-- restart without persistence, a failover to a replica that lagged). A sent
-- row now stays open until the relay has seen its task finished in asynq
-- (completed or archived) and sets confirmed_at; a task Redis lost is
-- enqueued again meanwhile. next_attempt_at is also when a sent row is
-- checked next.
ALTER TABLE outbox
    ADD COLUMN confirmed_at timestamptz,
    ADD CONSTRAINT outbox_confirmed_after_sent CHECK (confirmed_at IS NULL OR sent_at IS NOT NULL);
-- Rows sent before this migration were relayed under the old rule. Their
-- completed tasks may have expired from Redis already, so checking them now
-- would find them gone and run them again: they count as confirmed.
UPDATE outbox SET confirmed_at = sent_at WHERE sent_at IS NOT NULL;
-- The relay's claim query: open rows (unsent, or sent and unconfirmed) in
-- order. Partial, so it stays as small as the work in flight.
DROP INDEX outbox_unsent;
CREATE INDEX outbox_open ON outbox (next_attempt_at) WHERE confirmed_at IS NULL;
-- The purge of old confirmed rows.
DROP INDEX outbox_sent;
CREATE INDEX outbox_confirmed ON outbox (confirmed_at) WHERE confirmed_at IS NOT NULL;

-- +goose Down
DROP INDEX outbox_confirmed;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
DROP INDEX outbox_open;
CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;
ALTER TABLE outbox DROP COLUMN confirmed_at;
