package notify

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

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
