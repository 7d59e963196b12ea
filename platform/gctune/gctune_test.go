package gctune_test

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/gctune"
)

// The goal keeps the headroom over a small live heap and Go's proportion
// over a large one.
func TestPercentFollowsTheLiveHeap(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	const headroom = 64 << 20
	tuner := gctune.Start(100, headroom)
	defer tuner.Stop()

	runtime.GC() // the tuner sees this collection's live heap
	runtime.GC() // and its finalizer has run by the next one
	require.Eventually(t, func() bool { runtime.GC(); return tuner.Percent() > 400 }, 5*time.Second, 10*time.Millisecond,
		"a small live heap gets at least 64 MiB of headroom: percent %d", tuner.Percent())

	big := make([][]byte, 0, 256)
	for range 256 {
		big = append(big, make([]byte, 1<<20)) // 256 MiB live, four times the headroom
	}
	require.Eventually(t, func() bool { runtime.GC(); return tuner.Percent() == 100 }, 5*time.Second, 10*time.Millisecond,
		"a large live heap keeps Go's proportion: percent %d", tuner.Percent())
	runtime.KeepAlive(big)
}

// GOGC in the environment wins: Apply leaves the percentage alone.
func TestApplyDefersToGOGC(t *testing.T) {
	t.Setenv("GOGC", "150")
	prev := debug.SetGCPercent(150)
	defer debug.SetGCPercent(prev)
	stop := gctune.Apply(64 << 20)
	defer stop()
	runtime.GC()
	runtime.GC()
	require.Equal(t, 150, debug.SetGCPercent(150))
}
