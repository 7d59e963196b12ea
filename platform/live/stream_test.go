package live

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// fakeStore is one channel's stored events, recording the reads.
type fakeStore struct {
	mu    sync.Mutex
	rows  []event
	reads []int64 // the seq of each After call
	fail  error
}

// add stores events by seq 1, 2, … from the last one; what is added is
// committed, so it may be published.
func (s *fakeStore) add(n int, hidden ...bool) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []event
	for i := range n {
		e := event{ID: uuid.New(), Seq: int64(len(s.rows) + 1), Hidden: i < len(hidden) && hidden[i]}
		s.rows = append(s.rows, e)
		added = append(added, e)
	}
	return added
}

func (s *fakeStore) after(_ context.Context, seq int64, limit int) ([]event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, seq)
	if s.fail != nil {
		return nil, s.fail
	}
	var out []event
	for _, e := range s.rows {
		if e.Seq > seq && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *fakeStore) readsSoFar() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reads)
}

func (s *fakeStore) source(dense bool) Source[event] {
	return Source[event]{
		Seq:    func(e event) int64 { return e.Seq },
		ID:     func(e event) uuid.UUID { return e.ID },
		Accept: func(e event) bool { return !e.Hidden },
		After:  s.after,
		Dense:  dense,
	}
}

// stream subscribes to ch and streams it from synced; the stream ends with
// the test.
func (e *env) stream(t *testing.T, ch string, synced int64, src Source[event]) <-chan int64 {
	t.Helper()
	sub, err := e.hub.Subscribe(t.Context(), ch)
	require.NoError(t, err)
	return Stream(t.Context(), sub, synced, src, func(e event) int64 { return e.Seq }, e.log)
}

// next returns the next n seqs out emits.
func next(t *testing.T, out <-chan int64, n int) []int64 {
	t.Helper()
	var got []int64
	for range n {
		select {
		case seq, ok := <-out:
			require.True(t, ok, "the stream ended after %v", got)
			got = append(got, seq)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v, waiting for %d", got, n)
		}
	}
	return got
}

// ended waits for out to be closed with nothing more emitted.
func ended(t *testing.T, out <-chan int64) {
	t.Helper()
	select {
	case seq, open := <-out:
		require.False(t, open, "emitted %d", seq)
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end")
	}
}

func seqs(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestStreamEmitsStoredAndLiveOnceInSeqOrder(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	st := &fakeStore{}
	stored := st.add(replayPage + 50) // more than one page
	sub, err := e.hub.Subscribe(t.Context(), ch)
	require.NoError(t, err)
	// Published while the stream replays: the same rows arrive live.
	for _, ev := range stored[len(stored)-10:] {
		e.publish(t, ch, ev)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := Stream(ctx, sub, 20, st.source(false), func(e event) int64 { return e.Seq }, e.log)
	require.Equal(t, seqs(21, replayPage+50), next(t, out, replayPage+30), "after synced, oldest first")

	live := st.add(1)[0]
	e.publish(t, ch, live)
	require.Equal(t, []int64{live.Seq}, next(t, out, 1))
	// A retry publishes again; an old one comes late: both dropped, so the
	// next one out is the next one stored.
	e.publish(t, ch, live)
	e.publish(t, ch, stored[30])
	newer := st.add(1)[0]
	e.publish(t, ch, newer)
	require.Equal(t, []int64{newer.Seq}, next(t, out, 1))

	cancel()
	ended(t, out)
	require.Eventually(t, func() bool { return e.numSub(t, ch) == 0 }, 5*time.Second, 5*time.Millisecond,
		"and closes its subscription")
}

func TestStreamDenseGapCatchesUpFromTheStore(t *testing.T) {
	for _, dense := range []bool{true, false} {
		t.Run(map[bool]string{true: "dense", false: "sparse"}[dense], func(t *testing.T) {
			e := setup(t)
			ch := channel(t)
			st := &fakeStore{}
			out := e.stream(t, ch, 0, st.source(dense))
			require.Eventually(t, func() bool { return len(st.readsSoFar()) == 1 }, 5*time.Second, time.Millisecond,
				"the first catch-up")

			// 1 and 2 are stored but their publishes are lost.
			third := st.add(3)[2]
			e.publish(t, ch, third)
			if !dense {
				// Nothing tells a sparse stream that it missed any.
				require.Equal(t, []int64{3}, next(t, out, 1))
				require.Len(t, st.readsSoFar(), 1)
				return
			}
			require.Equal(t, []int64{1, 2, 3}, next(t, out, 3), "the catch-up emits the gap and the message")
			require.Equal(t, []int64{0, 0}, st.readsSoFar())

			// Contiguous: straight through, no read; a duplicate is dropped.
			fourth := st.add(1)[0]
			e.publish(t, ch, fourth)
			e.publish(t, ch, third)
			e.publish(t, ch, fourth)
			fifth := st.add(1)[0]
			e.publish(t, ch, fifth)
			require.Equal(t, []int64{4, 5}, next(t, out, 2))
			require.Len(t, st.readsSoFar(), 2)

			// Overtaken: 7 is published before 6; the output stays in order.
			more := st.add(2)
			e.publish(t, ch, more[1])
			e.publish(t, ch, more[0])
			last := st.add(1)[0]
			e.publish(t, ch, last)
			require.Equal(t, []int64{6, 7, 8}, next(t, out, 3))
			require.Equal(t, []int64{0, 0, 5}, st.readsSoFar())
		})
	}
}

func TestStreamAcceptFiltersStoredAndLive(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	st := &fakeStore{}
	st.add(3, false, true, false)
	out := e.stream(t, ch, 0, st.source(true))
	require.Equal(t, []int64{1, 3}, next(t, out, 2))

	hidden := st.add(1, true)[0]
	e.publish(t, ch, hidden)
	visible := st.add(1)[0]
	e.publish(t, ch, visible)
	require.Equal(t, []int64{visible.Seq}, next(t, out, 1))
}

func TestSlowStreamCatchesUpWithoutLossOrDuplicate(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	st := &fakeStore{}
	out := e.stream(t, ch, 0, st.source(false))
	fast := e.subscribe(t, ch)
	const n = 3 * subscriptionBuffer
	for _, ev := range st.add(n) {
		e.publish(t, ch, ev)
		require.Equal(t, ev.Seq, receive(t, fast).Seq, "the hub is not held up by the stream nobody reads")
	}
	// The stream's buffer overflowed: it catches up from the store.
	require.Equal(t, seqs(1, n), next(t, out, n))
	after := st.add(1)[0]
	e.publish(t, ch, after)
	require.Equal(t, []int64{after.Seq}, next(t, out, 1), "nothing twice")
}

func TestStreamEndsWhenTheStoreFails(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	st := &fakeStore{fail: errors.New("database is down")}
	out := e.stream(t, ch, 0, st.source(false))
	ended(t, out)
	require.Eventually(t, func() bool { return e.numSub(t, ch) == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestRecentForgetsTheOldestBeyondItsSize(t *testing.T) {
	r := newRecent(3)
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	require.False(t, r.has(ids[0]))
	for _, id := range ids[:3] {
		r.add(id)
	}
	r.add(ids[1]) // already there: no eviction
	require.True(t, r.has(ids[0]))
	r.add(ids[3])
	require.False(t, r.has(ids[0]))
	for _, id := range ids[1:] {
		require.True(t, r.has(id))
	}
	require.Len(t, r.ids, 3)
}
