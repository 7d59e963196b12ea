-- +goose Up
-- When a member asked to hear of new posts: a post's fan-out, which runs
-- after it was published, reaches only those who had asked by then.
ALTER TABLE memberships ADD COLUMN notify_since timestamptz;
UPDATE memberships SET notify_since = since WHERE notify_on_post;
ALTER TABLE memberships ADD CONSTRAINT memberships_notify_since CHECK (notify_on_post = (notify_since IS NOT NULL));

-- +goose Down
ALTER TABLE memberships DROP CONSTRAINT memberships_notify_since;
ALTER TABLE memberships DROP COLUMN notify_since;
