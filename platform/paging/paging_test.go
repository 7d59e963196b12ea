package paging_test

import (
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/paging"
)

func TestCutAndMap(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	byKey := func(i int) paging.Cursor { return paging.Cursor{Key: strconv.Itoa(i), ID: ids[i]} }

	p := paging.Cut([]int{0, 1, 2}, 2, byKey)
	require.True(t, p.HasNext)
	require.Equal(t, []int{0, 1}, p.Items)
	require.Len(t, p.Cursors, 2)
	c, err := paging.Decode(&p.Cursors[1])
	require.NoError(t, err)
	require.Equal(t, byKey(1), *c)

	last := paging.Cut([]int{0, 1}, 2, byKey)
	require.False(t, last.HasNext)
	require.Len(t, last.Items, 2)

	s := paging.Map(p, strconv.Itoa)
	require.Equal(t, []string{"0", "1"}, s.Items)
	require.Equal(t, p.Cursors, s.Cursors)
	require.True(t, s.HasNext)
}
