-- +goose Up
-- The feed's top-N per channel (ListFeed) needs of each post only its sort
-- key and what decides whether the reader sees it (hidden_at, author_id):
-- with those in the index it is an index-only scan, not a heap visit per
-- post, on every page VACUUM has marked all-visible (issue 14's benchmark:
-- a 200-channel feed reads 4,200 index entries for its 20 posts).
CREATE INDEX posts_channel_feed_covering ON posts (channel_id, published_at DESC, id DESC) INCLUDE (hidden_at, author_id)
    WHERE status = 'PUBLISHED' AND deleted_at IS NULL;
DROP INDEX posts_channel_feed;
ALTER INDEX posts_channel_feed_covering RENAME TO posts_channel_feed;

-- +goose Down
CREATE INDEX posts_channel_feed_plain ON posts (channel_id, published_at DESC, id DESC)
    WHERE status = 'PUBLISHED' AND deleted_at IS NULL;
DROP INDEX posts_channel_feed;
ALTER INDEX posts_channel_feed_plain RENAME TO posts_channel_feed;
