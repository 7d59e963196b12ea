package rowcache_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
	"supergraph/platform/rowcache"
)

type row struct {
	Name  string
	Count int
}

// store is the "database": a map the test changes, and a count of loads.
type store struct {
	rows  map[uuid.UUID]row
	loads atomic.Int32
}

func (s *store) load(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]row, error) {
	s.loads.Add(1)
	out := map[uuid.UUID]row{}
	for _, id := range ids {
		if r, ok := s.rows[id]; ok {
			out[id] = r
		}
	}
	return out, nil
}

func newCache(t *testing.T) (*rowcache.Cache[row], *redistest.Server) {
	srv := redistest.Start(t)
	rdb, err := redisx.Open(context.Background(), srv.URL(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	return rowcache.New[row](rdb, "test:row", time.Minute, slog.New(slog.DiscardHandler)), srv
}

func TestHitsMissesAndUnknownIDs(t *testing.T) {
	c, _ := newCache(t)
	ctx := context.Background()
	a, b, unknown := uuid.New(), uuid.New(), uuid.New()
	db := &store{rows: map[uuid.UUID]row{a: {"a", 1}, b: {"b", 2}}}

	got, err := c.Get(ctx, []uuid.UUID{a, b, unknown}, db.load)
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]row{a: {"a", 1}, b: {"b", 2}}, got)
	require.EqualValues(t, 1, db.loads.Load())

	// Cached now: only the unknown id is loaded again.
	loaded := []uuid.UUID{}
	got, err = c.Get(ctx, []uuid.UUID{a, b, unknown}, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]row, error) {
		loaded = append(loaded, ids...)
		return db.load(ctx, ids)
	})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{unknown}, loaded)
	require.Equal(t, row{"a", 1}, got[a])
}

func TestInvalidateServesTheNewValue(t *testing.T) {
	c, _ := newCache(t)
	ctx := context.Background()
	a := uuid.New()
	db := &store{rows: map[uuid.UUID]row{a: {"a", 1}}}
	_, err := c.Get(ctx, []uuid.UUID{a}, db.load)
	require.NoError(t, err)

	db.rows[a] = row{"a", 2}
	c.Invalidate(ctx, a)
	got, err := c.Get(ctx, []uuid.UUID{a}, db.load)
	require.NoError(t, err)
	require.Equal(t, 2, got[a].Count)
}

// A reader that loaded before a write committed must not leave its old
// value behind, even when it stores it after the writer invalidated.
func TestALateReaderCannotUndoAnInvalidation(t *testing.T) {
	c, _ := newCache(t)
	ctx := context.Background()
	a := uuid.New()
	db := &store{rows: map[uuid.UUID]row{a: {"a", 1}}}

	_, err := c.Get(ctx, []uuid.UUID{a}, func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]row, error) {
		old, err := db.load(ctx, ids) // reads Count 1 ...
		// ... then the writer commits and invalidates before this reader stores.
		db.rows[a] = row{"a", 2}
		c.Invalidate(ctx, a)
		return old, err
	})
	require.NoError(t, err)

	got, err := c.Get(ctx, []uuid.UUID{a}, db.load)
	require.NoError(t, err)
	require.Equal(t, 2, got[a].Count, "the stale value was stored under a generation nobody reads")
}

func TestRedisDownCostsSpeedNotAnswers(t *testing.T) {
	c, srv := newCache(t)
	ctx := context.Background()
	a := uuid.New()
	db := &store{rows: map[uuid.UUID]row{a: {"a", 1}}}
	srv.Stop()
	for range 3 {
		got, err := c.Get(ctx, []uuid.UUID{a}, db.load)
		require.NoError(t, err)
		require.Equal(t, row{"a", 1}, got[a])
	}
	require.EqualValues(t, 3, db.loads.Load())
	c.Invalidate(ctx, a) // logged, not fatal
}
