// Package gctune keeps the garbage collector's heap goal at least a fixed
// headroom above the live heap. Go's default goal is twice the live heap:
// for a service whose live heap is a few MiB and which allocates for every
// request, that means a collection every few MiB of garbage, a large share of
// its CPU. With a headroom of, say, 64 MiB a small heap collects an order of
// magnitude less often for a bounded amount of memory, and a large heap (a
// router holding ten thousand WebSockets) keeps Go's proportion, so memory per
// connection does not grow.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Tuner re-sets the GC percentage after every collection.
type Tuner struct {
	minPercent int
	headroom   uint64
	stopped    atomic.Bool
	mu         sync.Mutex
	percent    int
	sample     []metrics.Sample
}

// Start keeps the goal at about max(live × (1 + minPercent/100), live +
// headroom) from the next collection on. Stop it to leave the percentage as it is.
func Start(minPercent int, headroom uint64) *Tuner {
	t := &Tuner{minPercent: minPercent, headroom: headroom,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	t.arm()
	return t
}

// Apply starts the tuning a service runs with: Go's default proportion and
// headroom bytes, unless GOGC is set (it wins) or headroom is 0. The returned
// stop ends it and restores the percentage.
func Apply(headroom uint64) (stop func()) {
	if headroom == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(100)
	t := Start(100, headroom)
	return func() { t.Stop(); debug.SetGCPercent(prev) }
}

// Percent is the percentage set after the last collection (0 before one).
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Stop ends the tuning.
func (t *Tuner) Stop() { t.stopped.Store(true) }

// sentinel carries the finalizer; it holds a pointer, so it never shares a
// tiny-allocator block whose other objects could keep it alive.
type sentinel struct{ t *Tuner }

// arm runs tune after the next collection: a finalizer runs once the object
// it is set on is found unreachable, which takes a collection.
func (t *Tuner) arm() {
	runtime.SetFinalizer(&sentinel{t}, func(s *sentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.tune()
		s.t.arm()
	})
}

func (t *Tuner) tune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample)
	// The pacer grows the heap by the percentage of everything it scans:
	// the live heap, goroutine stacks and globals.
	var scanned uint64
	for _, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			scanned += s.Value.Uint64()
		}
	}
	percent := t.minPercent
	if scanned > 0 {
		percent = max(percent, int(min(t.headroom*100/scanned, 10_000)))
	}
	if percent != t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}
