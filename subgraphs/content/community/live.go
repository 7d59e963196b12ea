package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/live"
	"supergraph/subgraphs/content/store"
)

// Live events. A new comment is published, after its transaction commits,
// on its post's channel, a new post on its channel's; subscribers on any
// replica replay from the database by the per-post and per-channel seqs,
// which are dense and commit in order (see NextCommentSeq, NextPostSeq), so
// a lost publish shows as a gap and is read back at once.

// event is the published form: which row, at which position.
type event struct {
	ID  uuid.UUID `json:"id"`
	Seq int64     `json:"seq"`
}

func commentsChannel(post uuid.UUID) string { return "content:post:" + post.String() + ":comments" }
func postsChannel(ch uuid.UUID) string      { return "content:channel:" + ch.String() + ":posts" }

// Hubs hold one pub/sub connection each per replica.
type Hubs struct {
	events *live.Hub[event]
}

// NewHubs returns the live hubs; Run must be running for subscriptions.
func NewHubs(rdb *redis.Client, log *slog.Logger) *Hubs {
	return &Hubs{events: live.NewHub(rdb, log.With("component", "content-hub"), func(payload string) (event, error) {
		var e event
		err := json.Unmarshal([]byte(payload), &e)
		return e, err
	})}
}

// Run receives live events until ctx ends.
func (h *Hubs) Run(ctx context.Context) error { return h.events.Run(ctx) }

// SetHubs lets the service stream live events (the app runs the hubs).
func (s *Service) SetHubs(h *Hubs) { s.hubs = h }

// announce publishes e; a failure is logged, not returned: the change is
// committed, and subscribers catch up at the next event or reconnect.
func (s *Service) announce(ctx context.Context, channel string, e event) {
	if err := live.Publish(ctx, s.rdb, channel, e); err != nil {
		s.log.WarnContext(ctx, "live event not published", "channel", channel, "err", err)
	}
}

func (s *Service) announcePost(ctx context.Context, p Post) {
	s.announce(ctx, postsChannel(p.ChannelID), event{ID: p.ID, Seq: p.ChannelSeq})
}

func (s *Service) announceComment(ctx context.Context, c Comment) {
	s.announce(ctx, commentsChannel(c.PostID), event{ID: c.ID, Seq: c.Seq})
}

// CommentStream returns a post's new comments as they are added; with
// after (a comment of the post), those added since are replayed first.
// Readers of the post's channel only, checked for every comment (one removed
// from a private channel hears no more); hidden comments reach only those
// who may see them.
func CommentStream[T any](ctx context.Context, s *Service, p identity.Principal, postID uuid.UUID, after *uuid.UUID, convert func(Comment) T) (<-chan T, error) {
	if s.hubs == nil {
		return nil, errors.New("community: no hubs to stream from")
	}
	post, _, _, err := s.postFor(ctx, s.q, p, postID, false)
	if err != nil {
		return nil, err
	}
	synced := post.CommentSeq
	if after != nil {
		c, err := s.q.GetComment(ctx, *after)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && c.PostID != postID) {
			return nil, apperr.BadInput("after", "after is not a comment of this post")
		}
		if err != nil {
			return nil, fmt.Errorf("comment stream: %w", err)
		}
		synced = c.Seq
	}
	sub, err := s.hubs.events.Subscribe(ctx, commentsChannel(postID))
	if err != nil {
		return nil, err
	}
	src := live.Source[event]{
		Seq: func(e event) int64 { return e.Seq }, ID: func(e event) uuid.UUID { return e.ID }, Dense: true,
		After: func(ctx context.Context, seq int64, limit int) ([]event, error) {
			rows, err := s.q.ListCommentsAfterSeq(ctx, store.ListCommentsAfterSeqParams{PostID: postID, AfterSeq: seq, MaxRows: int32(limit)})
			return mapAll(rows, func(c store.Comment) event { return event{ID: c.ID, Seq: c.Seq} }), err
		},
	}
	// The event names the comment; it is read as the subscriber (once per
	// subscriber, as each may see it differently, and may have lost the
	// right to read the channel since) when it is sent.
	out := make(chan T)
	events := live.Stream(ctx, sub, synced, src, func(e event) event { return e }, s.log)
	go func() {
		defer close(out)
		for e := range events {
			cs, err := s.CommentsByID(ctx, p, []uuid.UUID{e.ID})
			if err != nil {
				if ctx.Err() == nil {
					s.log.ErrorContext(ctx, "comment stream: read failed; closing it", "err", err)
				}
				return
			}
			if cs[0] == nil { // hidden from p, or p may no longer read the post
				continue
			}
			select {
			case out <- convert(*cs[0]):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// PostStream returns a channel's newly published posts; with after (a post
// of the channel), those published since are replayed first. Readers of the
// channel only.
func PostStream[T any](ctx context.Context, s *Service, p identity.Principal, channelID uuid.UUID, after *uuid.UUID, convert func(Post) T) (<-chan T, error) {
	if s.hubs == nil {
		return nil, errors.New("community: no hubs to stream from")
	}
	ch, st, err := s.channelFor(ctx, s.q, p, channelID, false)
	if err != nil {
		return nil, err
	}
	if !MayRead(p, toChannel(ch), st) {
		return nil, apperr.Forbidden("only members follow a private channel")
	}
	synced := ch.PostSeq
	if after != nil {
		post, err := s.q.GetPost(ctx, *after)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (post.ChannelID != channelID || post.ChannelSeq == nil)) {
			return nil, apperr.BadInput("after", "after is not a published post of this channel")
		}
		if err != nil {
			return nil, fmt.Errorf("post stream: %w", err)
		}
		synced = *post.ChannelSeq
	}
	sub, err := s.hubs.events.Subscribe(ctx, postsChannel(channelID))
	if err != nil {
		return nil, err
	}
	src := live.Source[event]{
		Seq: func(e event) int64 { return e.Seq }, ID: func(e event) uuid.UUID { return e.ID }, Dense: true,
		After: func(ctx context.Context, seq int64, limit int) ([]event, error) {
			rows, err := s.q.ListPostsAfterSeq(ctx, store.ListPostsAfterSeqParams{ChannelID: channelID, AfterSeq: &seq, MaxRows: int32(limit)})
			return mapAll(rows, func(p store.Post) event { return event{ID: p.ID, Seq: *p.ChannelSeq} }), err
		},
	}
	out := make(chan T)
	events := live.Stream(ctx, sub, synced, src, func(e event) event { return e }, s.log)
	go func() {
		defer close(out)
		for e := range events {
			posts, err := s.PostsByID(ctx, p, []uuid.UUID{e.ID})
			if err != nil {
				if ctx.Err() == nil {
					s.log.ErrorContext(ctx, "post stream: read failed; closing it", "err", err)
				}
				return
			}
			if posts[0] == nil { // deleted or hidden since
				continue
			}
			select {
			case out <- convert(*posts[0]):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
