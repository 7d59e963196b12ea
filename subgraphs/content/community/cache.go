package community

import (
	"context"

	"github.com/google/uuid"
)

// Channel and post rows are cached in Redis (see platform/rowcache): entity
// lookups, post(id), Post.channel and Comment.post read them by id. Only
// the rows are cached; who may see them is decided per request after. Every
// change to a row invalidates it once its transaction commits.

// channelChanged invalidates a channel after a write; err is the write's
// outcome (a failed write changed nothing).
func (s *Service) channelChanged(ctx context.Context, err error, id uuid.UUID) {
	if err == nil && id != uuid.Nil {
		s.channelCache.Invalidate(ctx, id)
	}
}

// postChanged invalidates a post after a write, as channelChanged.
func (s *Service) postChanged(ctx context.Context, err error, id uuid.UUID) {
	if err == nil && id != uuid.Nil {
		s.postCache.Invalidate(ctx, id)
	}
}

// channelRows reads channels by id through the cache.
func (s *Service) channelRows(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Channel, error) {
	return s.channelCache.Get(ctx, ids, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Channel, error) {
		rows, err := s.q.GetChannels(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]Channel, len(rows))
		for _, r := range rows {
			out[r.ID] = toChannel(r)
		}
		return out, nil
	})
}

// postRows reads posts (not deleted) by id through the cache.
func (s *Service) postRows(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Post, error) {
	return s.postCache.Get(ctx, ids, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Post, error) {
		rows, err := s.q.GetPosts(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]Post, len(rows))
		for _, r := range rows {
			out[r.ID] = toPost(r)
		}
		return out, nil
	})
}
