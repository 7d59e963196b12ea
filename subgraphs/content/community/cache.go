package community

import (
	"context"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
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

// readChannel reads a channel for a read-only request, through the cache,
// with p's standing in it; NOT_FOUND when p may not find it.
func (s *Service) readChannel(ctx context.Context, p identity.Principal, id uuid.UUID) (Channel, Standing, error) {
	chs, standings, err := s.visibleChannels(ctx, p, []uuid.UUID{id})
	if err != nil {
		return Channel{}, Standing{}, err
	}
	if chs[0] == nil {
		return Channel{}, Standing{}, apperr.NotFound("channel")
	}
	return *chs[0], standings[id], nil
}

// readPost reads a post for a read-only request, through the cache, with
// its channel and p's standing; NOT_FOUND when p may not see it.
func (s *Service) readPost(ctx context.Context, p identity.Principal, id uuid.UUID) (Post, Standing, error) {
	posts, err := s.postRows(ctx, []uuid.UUID{id})
	if err != nil {
		return Post{}, Standing{}, err
	}
	post, ok := posts[id]
	if !ok {
		return Post{}, Standing{}, apperr.NotFound("post")
	}
	ch, st, err := s.readChannel(ctx, p, post.ChannelID)
	if _, missing := asNotFound(err); missing || (err == nil && (!MayRead(p, ch, st) || !MaySeePost(p, st, post))) {
		return Post{}, Standing{}, apperr.NotFound("post")
	}
	return post, st, err
}
