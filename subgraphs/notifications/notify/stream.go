package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/live"
	"supergraph/subgraphs/notifications/store"
)

// Stream returns the caller's notifications as they are stored. With after (the id
// of the last notification the client has), those stored since are replayed
// first, oldest first.
//
// No gap, no duplicate (live.Stream): the stream subscribes to the live
// channel before it reads the database. Without after, it starts at the
// latest seq read before subscribing, so the first read covers what is
// committed while it subscribes. Deliveries to one user commit in seq order
// (see Deliver), so one read returns everything up to the highest seq it
// saw. Seqs are one sequence over all users, so a user's have holes: not
// Dense.
//
// convert turns each notification into what the caller sends (a GraphQL
// model), so no extra goroutine per subscription is needed to adapt it.
func Stream[T any](ctx context.Context, s *Service, p identity.Principal, after *uuid.UUID, convert func(Notification) T) (<-chan T, error) {
	user, err := p.SignedIn()
	if err != nil {
		return nil, err
	}
	if s.hub == nil {
		return nil, errors.New("notify: no hub to stream from")
	}
	// The starting point is fixed before subscribing, and the database is
	// read after: what is committed in between is in that read.
	var synced int64
	if after != nil {
		n, err := s.q.GetNotification(ctx, *after)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (n.RecipientID != user || !n.InApp)) {
			return nil, apperr.BadInput("after", "after is not one of your notifications")
		}
		if err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		synced = n.Seq
	} else {
		// Only what is stored from now on; older ones are in User.notifications.
		var err error
		if synced, err = s.q.LatestSeq(ctx, user); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
	}
	sub, err := s.hub.Subscribe(ctx, Channel(user))
	if err != nil {
		return nil, err
	}
	return live.Stream(ctx, sub, synced, live.Source[Notification]{
		Seq: func(n Notification) int64 { return n.Seq },
		ID:  func(n Notification) uuid.UUID { return n.ID },
		// Defence in depth: the channel is the user's, but a notification
		// reaches only its own recipient.
		Accept: func(n Notification) bool { return n.RecipientID == user },
		After: func(ctx context.Context, seq int64, limit int) ([]Notification, error) {
			rows, err := s.q.ListNotificationsAfter(ctx, store.ListNotificationsAfterParams{
				RecipientID: user, AfterSeq: seq, MaxRows: int32(limit),
			})
			if err != nil {
				return nil, err
			}
			return toNotifications(rows), nil
		},
	}, convert, s.log), nil
}
