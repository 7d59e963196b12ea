package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/subgraphs/notifications/store"
)

// subscribeTimeout bounds the wait for Redis to confirm a subscription.
const subscribeTimeout = 10 * time.Second

// replayPage is how many notifications one replay query reads.
const replayPage = 100

// recentIDs is how many delivered ids a stream remembers to drop duplicates
// that arrive live (a worker retry publishes again soon after the first
// attempt). Kept small and allocated as it fills: every idle subscription
// holds one.
const recentIDs = 256

// Stream returns the caller's notifications as they are stored. With after (the id
// of the last notification the client has), those stored since are replayed
// first, oldest first.
//
// No gap, no duplicate: the stream subscribes to the live channel before it
// reads the database, so whatever is committed after that read is published
// after the subscription and arrives live; what the read returned is dropped
// when it arrives live too. Without after, the stream starts at the latest
// seq read before subscribing, so the same read covers what is committed
// while it subscribes. Deliveries to one user commit in seq order (see
// Deliver), so one read returns everything up to the highest seq it saw: a
// live message at or below that seq was in it.
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
	// While Redis is unreachable the subscription cannot be confirmed:
	// fail after a while so the client retries, rather than hang.
	subCtx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	sub, err := s.hub.Subscribe(subCtx, user)
	cancel()
	if err != nil {
		return nil, err
	}
	out := make(chan T)
	st := &stream[T]{s: s, user: user, out: out, convert: convert, synced: synced, seen: newRecent(recentIDs)}
	go func() {
		defer close(out)
		defer sub.Close()
		if !st.catchUp(ctx) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.resync:
				if !st.catchUp(ctx) {
					return
				}
			case m := <-sub.messages:
				n := *m
				// Defence in depth: the channel is the user's, but a
				// notification reaches only its own recipient.
				if n.RecipientID != user || n.Seq <= st.synced || st.seen.has(n.ID) {
					continue
				}
				if !st.emit(ctx, n) {
					return
				}
			}
		}
	}()
	return out, nil
}

type stream[T any] struct {
	s       *Service
	user    uuid.UUID
	out     chan<- T
	convert func(Notification) T
	// synced: every notification up to this seq has been emitted (or
	// predates the stream).
	synced int64
	seen   *recent
}

func (st *stream[T]) emit(ctx context.Context, n Notification) bool {
	select {
	case st.out <- st.convert(n):
		st.seen.add(n.ID)
		return true
	case <-ctx.Done():
		return false
	}
}

// catchUp emits what the database holds after synced and was not emitted
// live. A database failure ends the stream: the client reconnects with
// `after` and misses nothing.
func (st *stream[T]) catchUp(ctx context.Context) bool {
	for {
		rows, err := st.s.q.ListNotificationsAfter(ctx, store.ListNotificationsAfterParams{
			RecipientID: st.user, AfterSeq: st.synced, MaxRows: replayPage,
		})
		if err != nil {
			if ctx.Err() == nil {
				st.s.log.Error("notification stream: catch-up failed; closing it", "err", err)
			}
			return false
		}
		for _, n := range rows {
			if !st.seen.has(n.ID) && !st.emit(ctx, toNotification(n)) {
				return false
			}
			st.synced = n.Seq
		}
		if len(rows) < replayPage {
			return true
		}
	}
}

// recent is a bounded set of the latest ids, allocated as it fills.
type recent struct {
	ids  map[uuid.UUID]struct{}
	ring []uuid.UUID
	next int
	size int
}

func newRecent(size int) *recent { return &recent{size: size} }

func (r *recent) has(id uuid.UUID) bool { _, ok := r.ids[id]; return ok }

func (r *recent) add(id uuid.UUID) {
	if r.has(id) {
		return
	}
	if r.ids == nil {
		r.ids = map[uuid.UUID]struct{}{}
	}
	if len(r.ring) < r.size {
		r.ring = append(r.ring, id)
	} else {
		delete(r.ids, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % r.size
	}
	r.ids[id] = struct{}{}
}
