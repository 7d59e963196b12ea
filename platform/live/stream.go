package live

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// replayPage is how many rows one catch-up query reads.
const replayPage = 100

// recentIDs is how many delivered ids a stream remembers to drop duplicates
// that arrive live (a retry publishes again soon after the first attempt).
// Kept small and allocated as it fills: every idle subscription holds one.
const recentIDs = 256

// Source describes the events of one channel as the store holds them.
//
// Every event has a seq, ascending in commit order within the channel:
// writers of one channel must serialise (a lock per channel key in the
// writing transaction), so that one read of the store returns everything up
// to the highest seq it saw. Stream depends on it.
type Source[E any] struct {
	// Seq and ID read an event's position in the channel and its identity.
	Seq func(E) int64
	ID  func(E) uuid.UUID
	// Accept reports whether the subscriber may see an event, stored or
	// live: defence in depth against a message on the wrong channel, or a
	// per-viewer filter. nil accepts all.
	Accept func(E) bool
	// After returns up to limit of the channel's stored events with a seq
	// above seq, ascending by seq.
	After func(ctx context.Context, seq int64, limit int) ([]E, error)
	// Dense: the channel's seqs have no holes (1, 2, 3… assigned in the
	// writing transaction), so a live message that skips one means a
	// publish was lost or overtaken: the stream catches up from the store
	// at once, which also keeps the output in seq order. Without Dense a
	// lost publish is recovered only on the hub's resync signal, and live
	// messages are emitted in the order they arrive.
	Dense bool
}

// Stream emits sub's channel as it is stored, each event once, converted
// by convert (into what the caller sends, a GraphQL model, so no extra
// goroutine per subscription is needed to adapt it). First it replays the
// stored events with a seq above synced, oldest first; then the live ones.
//
// No gap, no duplicate: sub must be subscribed (Hub.Subscribe returned)
// before the store is read, and Stream reads it only afterwards, so
// whatever is committed after that read is published after the
// subscription and arrives live; what the read returned is dropped when it
// arrives live too (by seq, or by id among the last recentIDs emitted). A
// caller that starts at "now" reads the latest seq before subscribing, so
// the first read covers what is committed while it subscribes. When the hub
// signals that messages may have been lost (a full buffer, a reconnect),
// the stream catches up from the store again.
//
// Stream owns sub and closes it when it ends: when ctx ends, or when the
// store fails (logged on log); the output channel is then closed, and the
// client can subscribe again from the last event it got and miss nothing.
func Stream[E, T any](ctx context.Context, sub *Subscription[E], synced int64, src Source[E], convert func(E) T, log *slog.Logger) <-chan T {
	out := make(chan T)
	st := &stream[E, T]{src: src, out: out, convert: convert, log: log, channel: sub.channel, synced: synced, seen: newRecent(recentIDs)}
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
			case e := <-sub.messages:
				if !st.live(ctx, *e) {
					return
				}
			}
		}
	}()
	return out
}

type stream[E, T any] struct {
	src     Source[E]
	out     chan<- T
	convert func(E) T
	log     *slog.Logger
	channel string
	// synced: every event up to this seq has been emitted (or predates the
	// stream, or was not accepted).
	synced int64
	seen   *recent
}

func (st *stream[E, T]) accepted(e E) bool { return st.src.Accept == nil || st.src.Accept(e) }

// delivered reports whether e was emitted already (or predates the stream).
func (st *stream[E, T]) delivered(e E) bool {
	return st.src.Seq(e) <= st.synced || st.seen.has(st.src.ID(e))
}

// live handles one live message.
func (st *stream[E, T]) live(ctx context.Context, e E) bool {
	if st.delivered(e) {
		return true
	}
	seq := st.src.Seq(e)
	if st.src.Dense && seq > st.synced+1 {
		// Committed before it was published, so the store holds it and
		// whatever it skipped: the catch-up emits them in order.
		if !st.catchUp(ctx) {
			return false
		}
		if st.delivered(e) {
			return true
		}
	}
	// Not advancing synced past a message that is not accepted: it may not
	// belong to this channel at all. In a Dense channel the next message
	// then catches up, which reads it from the store.
	if !st.accepted(e) {
		return true
	}
	if !st.emit(ctx, e) {
		return false
	}
	// Without Dense a live message may overtake an earlier one still to
	// come, so only the store moves synced.
	if st.src.Dense && seq == st.synced+1 {
		st.synced = seq
	}
	return true
}

func (st *stream[E, T]) emit(ctx context.Context, e E) bool {
	select {
	case st.out <- st.convert(e):
		st.seen.add(st.src.ID(e))
		return true
	case <-ctx.Done():
		return false
	}
}

// catchUp emits what the store holds after synced and was not emitted
// live. A store failure ends the stream: the client subscribes again from
// its last event and misses nothing.
func (st *stream[E, T]) catchUp(ctx context.Context) bool {
	for {
		rows, err := st.src.After(ctx, st.synced, replayPage)
		if err != nil {
			if ctx.Err() == nil {
				st.log.Error("live stream: catch-up failed; closing it", "channel", st.channel, "err", err)
			}
			return false
		}
		for _, e := range rows {
			if st.accepted(e) && !st.seen.has(st.src.ID(e)) && !st.emit(ctx, e) {
				return false
			}
			st.synced = st.src.Seq(e)
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
