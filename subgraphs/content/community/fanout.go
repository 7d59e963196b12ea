package community

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/content/store"
)

// A new post notifies the channel's members who opted in. The request only
// queues the first step; each step (FanOutStep, run by this service from
// its own queue) reaches one batch of members and queues the next, so a
// channel of any size costs the request one outbox row.

func (s *Service) queueFanOut(ctx context.Context, tx pgx.Tx, post store.Post) error {
	_, err := outbox.Add(ctx, tx, tasks.TypeContentPostFanOut, tasks.ContentPostFanOut{PostID: post.ID.String()},
		outbox.WithQueue(tasks.QueueContent))
	return err
}

// FanOutStep notifies one batch of a post's audience and queues the next
// step in the same transaction. For the service's own queue (trusted: no
// principal). A step that runs again finds its notification ids (derived
// from post and member) in the outbox and does nothing; the worker stores
// each notification once besides.
func (s *Service) FanOutStep(ctx context.Context, step tasks.ContentPostFanOut) error {
	postID, err := uuid.Parse(step.PostID)
	if err != nil {
		return fmt.Errorf("fan-out: %w", err)
	}
	after := uuid.Nil
	if step.After != "" {
		if after, err = uuid.Parse(step.After); err != nil {
			return fmt.Errorf("fan-out: %w", err)
		}
	}
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		post, err := q.GetPost(ctx, postID)
		if err != nil {
			return pg.NotFound(err, "post") // deleted since: nobody to tell
		}
		ch, err := q.GetChannel(ctx, post.ChannelID)
		if err != nil {
			return pg.NotFound(err, "channel")
		}
		members, err := q.ListPostSubscribers(ctx, store.ListPostSubscribersParams{
			ChannelID: post.ChannelID, PublishedAt: post.PublishedAt, AfterUser: after, AuthorID: post.AuthorID, MaxRows: int32(s.cfg.FanOutBatch)})
		if err != nil {
			return err
		}
		now := s.now()
		for _, m := range members {
			err := queueNotice(ctx, tx, notice{
				recipient: m, kind: KindNewPost, title: "New in " + ch.Name + ": " + post.Title,
				body: post.Title, link: postLink(post.ID),
				data: map[string]any{"channelId": ch.ID.String(), "postId": post.ID.String()},
			}, now, uuid.NewSHA1(post.ID, m[:]))
			if err != nil {
				return err
			}
		}
		if len(members) < s.cfg.FanOutBatch {
			return nil
		}
		_, err = outbox.Add(ctx, tx, tasks.TypeContentPostFanOut,
			tasks.ContentPostFanOut{PostID: step.PostID, After: members[len(members)-1].String()},
			outbox.WithQueue(tasks.QueueContent))
		return err
	})
	if _, ok := asNotFound(err); ok {
		return nil
	}
	if c, ok := pg.IsUniqueViolation(err); ok && c == "outbox_pkey" {
		// A notice of this batch is in the outbox already: the step ran
		// before (a retried task, a row the relay sent again) and queued
		// the next one, which covers every member after its batch.
		return nil
	}
	return apperr.Wrap("fan-out", err)
}
