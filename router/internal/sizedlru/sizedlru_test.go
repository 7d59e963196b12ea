package sizedlru

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBoundedByEntriesAndBytes(t *testing.T) {
	c := New(3, 100, func(_ string, v string) int { return len(v) })
	c.Add("a", strings.Repeat("a", 40))
	c.Add("b", strings.Repeat("b", 40))
	_, ok := c.Get("a") // a is now more recent than b
	require.True(t, ok)
	c.Add("c", strings.Repeat("c", 40)) // 120 bytes: b, the least recent, goes
	_, ok = c.Get("b")
	require.False(t, ok)
	require.Equal(t, 2, c.Len())
	require.Equal(t, 80, c.Bytes())

	c.Add("big", strings.Repeat("x", 101)) // over the bound alone: not kept
	_, ok = c.Get("big")
	require.False(t, ok)
	require.Equal(t, 80, c.Bytes())

	c.Add("a", "short") // replacing adjusts the weight
	require.Equal(t, 45, c.Bytes())
	c.Add("d", "d")
	c.Add("e", "e") // four entries: the least recent (c) goes
	_, ok = c.Get("c")
	require.False(t, ok)
	require.Equal(t, 3, c.Len())
	require.Equal(t, 7, c.Bytes())
}
