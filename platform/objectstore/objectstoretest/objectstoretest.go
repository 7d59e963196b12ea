// Package objectstoretest is the conformance suite every objectstore.Store
// passes (Run), and a real S3 server for tests: SeaweedFS, built from the
// version pinned in tools/weed and started for the test that asks for it
// (StartS3Server).
package objectstoretest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/objectstore"
)

// Run checks that the stores newStore returns behave as objectstore.Store
// says. Each subtest gets its own empty store; most run in parallel, but the
// one that measures memory runs alone first, so the caller must not mark its
// own test parallel.
func Run(t *testing.T, newStore func(t *testing.T) objectstore.Store) {
	// Sequential, so the heap it measures is its own.
	t.Run("LargeObjectIsStreamed", func(t *testing.T) { testLargeObjectIsStreamed(t, newStore(t)) })

	for _, tc := range []struct {
		name string
		test func(*testing.T, objectstore.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyObjectAndDefaultContentType", testEmptyObject},
		{"UnknownSize", testUnknownSize},
		{"Overwrite", testOverwrite},
		{"DeleteIsIdempotent", testDelete},
		{"NotFound", testNotFound},
		{"FoldersAreNotObjects", testFolders},
		{"InvalidKeysAreRefused", testInvalidKeys},
		{"InvalidContentTypeIsRefused", testInvalidContentType},
		{"ConcurrentPuts", testConcurrentPuts},
		{"FailedPutLeavesNoObject", testFailedPut},
		{"GetCanStopEarly", testGetCanStopEarly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func put(t *testing.T, s objectstore.Store, key, body, contentType string) {
	t.Helper()
	require.NoError(t, s.Put(ctx(t), key, strings.NewReader(body), int64(len(body)), contentType))
}

func get(t *testing.T, s objectstore.Store, key string) (string, objectstore.Info) {
	t.Helper()
	rc, info, err := s.Get(ctx(t), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b), info
}

func requireAbsent(t *testing.T, s objectstore.Store, key string) {
	t.Helper()
	ok, err := s.Exists(ctx(t), key)
	require.NoError(t, err)
	require.False(t, ok, "%s exists", key)
	_, err = s.Stat(ctx(t), key)
	require.ErrorIs(t, err, objectstore.ErrNotFound)
	rc, _, err := s.Get(ctx(t), key)
	if err == nil {
		rc.Close()
	}
	require.ErrorIs(t, err, objectstore.ErrNotFound)
}

func testRoundTrip(t *testing.T, s objectstore.Store) {
	// S3 servers keep whole seconds.
	before := time.Now().Truncate(time.Second).Add(-time.Second)
	const key, body = "products/0193a1b2/cover-1.jpg", "not really a jpeg"
	put(t, s, key, body, "image/jpeg")
	after := time.Now().Add(2 * time.Second)

	got, info := get(t, s, key)
	assert.Equal(t, body, got)
	assert.Equal(t, key, info.Key)
	assert.Equal(t, int64(len(body)), info.Size)
	assert.Equal(t, "image/jpeg", info.ContentType)
	assert.True(t, !info.ModTime.Before(before) && info.ModTime.Before(after), "ModTime %v not between %v and %v", info.ModTime, before, after)

	st, err := s.Stat(ctx(t), key)
	require.NoError(t, err)
	assert.Equal(t, info.Size, st.Size)
	assert.Equal(t, info.ContentType, st.ContentType)
	assert.Equal(t, key, st.Key)
	assert.WithinDuration(t, info.ModTime, st.ModTime, time.Second)

	ok, err := s.Exists(ctx(t), key)
	require.NoError(t, err)
	assert.True(t, ok)

	// A content type with parameters survives as given.
	put(t, s, "notes/readme.txt", "hi", "text/plain; charset=utf-8")
	_, info = get(t, s, "notes/readme.txt")
	assert.Equal(t, "text/plain; charset=utf-8", info.ContentType)
}

func testEmptyObject(t *testing.T, s objectstore.Store) {
	put(t, s, "empty", "", "")
	got, info := get(t, s, "empty")
	assert.Empty(t, got)
	assert.Zero(t, info.Size)
	assert.Equal(t, objectstore.DefaultContentType, info.ContentType)
}

func testUnknownSize(t *testing.T, s objectstore.Store) {
	// More than one S3 part, to cover the multipart path too.
	const size = objectstore.S3PartSize + 1<<20
	r := &genReader{size: size}
	require.NoError(t, s.Put(ctx(t), "unknown/size.bin", r, -1, "application/x-test"))
	info, err := s.Stat(ctx(t), "unknown/size.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(size), info.Size)
	assert.Equal(t, "application/x-test", info.ContentType)
	requireContent(t, s, "unknown/size.bin", size, nil)
}

// testLargeObjectIsStreamed puts and gets an object bigger than S3PartSize
// from a generating reader that counts what it hands out and measures the
// live heap as it goes: a store that buffered the object would hold most of
// it at once.
func testLargeObjectIsStreamed(t *testing.T, s objectstore.Store) {
	const size = 20 << 20
	mem := newHeapWatch()
	r := &genReader{size: size, onMiB: mem.sample}
	require.NoError(t, s.Put(ctx(t), "large/object.bin", r, size, "application/octet-stream"))
	assert.Equal(t, int64(size), r.off, "the store read exactly size bytes")
	growth := mem.growth()
	t.Logf("put: live heap grew by at most %.1f MiB for a %d MiB object", float64(growth)/(1<<20), size>>20)
	// Holding the object would show all of it at the last sample.
	assert.Less(t, growth, uint64(size*3/4), "Put holds the object in memory")

	info, err := s.Stat(ctx(t), "large/object.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(size), info.Size)

	mem = newHeapWatch()
	requireContent(t, s, "large/object.bin", size, mem.sample)
	growth = mem.growth()
	t.Logf("get: live heap grew by at most %.1f MiB", float64(growth)/(1<<20))
	assert.Less(t, growth, uint64(size*3/4), "Get holds the object in memory")
}

// requireContent reads the object through a hash, calling onMiB after each
// MiB, and checks it is what genReader makes.
func requireContent(t *testing.T, s objectstore.Store, key string, size int64, onMiB func()) {
	t.Helper()
	want := sha256.New()
	_, err := io.Copy(want, &genReader{size: size})
	require.NoError(t, err)

	rc, info, err := s.Get(ctx(t), key)
	require.NoError(t, err)
	defer rc.Close()
	assert.Equal(t, size, info.Size)
	got := &countingHash{h: sha256.New(), onMiB: onMiB}
	n, err := io.Copy(got, rc)
	require.NoError(t, err)
	require.Equal(t, size, n)
	require.Equal(t, want.Sum(nil), got.h.Sum(nil), "content differs")
}

func testOverwrite(t *testing.T, s objectstore.Store) {
	put(t, s, "doc", "first version", "text/plain")
	put(t, s, "doc", "v2", "image/png")
	got, info := get(t, s, "doc")
	assert.Equal(t, "v2", got)
	assert.Equal(t, int64(2), info.Size)
	assert.Equal(t, "image/png", info.ContentType)
}

func testDelete(t *testing.T, s objectstore.Store) {
	put(t, s, "a/b/c.txt", "x", "text/plain")
	put(t, s, "a/b/d.txt", "y", "text/plain")
	require.NoError(t, s.Delete(ctx(t), "a/b/c.txt"))
	requireAbsent(t, s, "a/b/c.txt")
	require.NoError(t, s.Delete(ctx(t), "a/b/c.txt"), "deleting twice")
	require.NoError(t, s.Delete(ctx(t), "never/was"), "deleting a key never written")
	got, _ := get(t, s, "a/b/d.txt")
	assert.Equal(t, "y", got, "a neighbour survives")

	// Once its last object is gone, a folder's name is free for a key.
	require.NoError(t, s.Delete(ctx(t), "a/b/d.txt"))
	put(t, s, "a/b", "now an object", "text/plain")
	got, _ = get(t, s, "a/b")
	assert.Equal(t, "now an object", got)
}

func testNotFound(t *testing.T, s objectstore.Store) {
	requireAbsent(t, s, "missing")
	requireAbsent(t, s, "missing/deeper/key.png")
	put(t, s, "file", "x", "")
	requireAbsent(t, s, "file/under/an/object")
}

func testFolders(t *testing.T, s objectstore.Store) {
	put(t, s, "dir/obj", "x", "")
	requireAbsent(t, s, "dir")
	require.NoError(t, s.Delete(ctx(t), "dir"), "deleting a folder's name deletes nothing")
	got, _ := get(t, s, "dir/obj")
	assert.Equal(t, "x", got)
}

// InvalidKeys are keys every store refuses: Run checks them all, and tests
// of a store's own layout can use them too.
var InvalidKeys = []string{
	"", "/", "/abs", "a/", "a//b", ".", "..", "../x", "x/..", "a/../b", "./a", "a/./b",
	".hidden", "a/.hidden", "-dash", "_under", `a\b`, `..\x`, "a b", "a?b", "a#b", "a%2fb", "a:b",
	"a*b", "a~b", "a\x00b", "a\nb", "é.jpg", "a/" + strings.Repeat("k", objectstore.MaxSegmentLen+1),
	longestKey + "k",
}

// longestKey is MaxKeyLen long, in segments of MaxSegmentLen at most.
var longestKey = func() string {
	seg := strings.Repeat("k", objectstore.MaxSegmentLen)
	var b strings.Builder
	for b.Len() < objectstore.MaxKeyLen {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg[:min(len(seg), objectstore.MaxKeyLen-b.Len())])
	}
	return b.String()
}()

func testInvalidKeys(t *testing.T, s objectstore.Store) {
	for _, key := range InvalidKeys {
		r := &genReader{size: 10}
		err := s.Put(ctx(t), key, r, 10, "text/plain")
		require.ErrorIs(t, err, objectstore.ErrInvalidKey, "Put %q", key)
		require.Zero(t, r.off, "Put %q read its body", key)
		_, _, err = s.Get(ctx(t), key)
		require.ErrorIs(t, err, objectstore.ErrInvalidKey, "Get %q", key)
		_, err = s.Stat(ctx(t), key)
		require.ErrorIs(t, err, objectstore.ErrInvalidKey, "Stat %q", key)
		_, err = s.Exists(ctx(t), key)
		require.ErrorIs(t, err, objectstore.ErrInvalidKey, "Exists %q", key)
		require.ErrorIs(t, s.Delete(ctx(t), key), objectstore.ErrInvalidKey, "Delete %q", key)
	}
	// The longest key, the longest segment and every allowed character work.
	put(t, s, strings.Repeat("s", objectstore.MaxSegmentLen), "long segment", "")
	put(t, s, longestKey, "long", "")
	got, _ := get(t, s, longestKey)
	assert.Equal(t, "long", got)
	put(t, s, "Az09/a.b-c_d/9..x", "chars", "")
	got, _ = get(t, s, "Az09/a.b-c_d/9..x")
	assert.Equal(t, "chars", got)
}

func testInvalidContentType(t *testing.T, s objectstore.Store) {
	for _, ct := range []string{"text/plain\r\nX-Injected: 1", "not a type", "image/"} {
		err := s.Put(ctx(t), "typed", strings.NewReader("x"), 1, ct)
		require.Error(t, err, "content type %q", ct)
	}
	requireAbsent(t, s, "typed")
}

func testConcurrentPuts(t *testing.T, s objectstore.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			body := strings.Repeat(fmt.Sprintf("object %d;", i), 1000+i)
			errs[i] = s.Put(ctx(t), fmt.Sprintf("concurrent/%02d/img.png", i), strings.NewReader(body), int64(len(body)), "image/png")
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "put %d", i)
		got, info := get(t, s, fmt.Sprintf("concurrent/%02d/img.png", i))
		assert.Equal(t, strings.Repeat(fmt.Sprintf("object %d;", i), 1000+i), got, "object %d", i)
		assert.Equal(t, "image/png", info.ContentType)
	}
}

var errBroken = errors.New("reader broke")

func testFailedPut(t *testing.T, s objectstore.Store) {
	type failure struct {
		name string
		// put runs a Put of key that must fail.
		put func(t *testing.T, key string) error
	}
	failures := []failure{
		{"ReaderFailsMidway", func(t *testing.T, key string) error {
			return s.Put(ctx(t), key, &genReader{size: 64 << 10, failAt: 16 << 10}, 64<<10, "text/plain")
		}},
		{"ReaderFailsMidwayInALaterPart", func(t *testing.T, key string) error {
			const size = 2*objectstore.S3PartSize + 1<<20
			return s.Put(ctx(t), key, &genReader{size: size, failAt: objectstore.S3PartSize + 1<<20}, size, "text/plain")
		}},
		{"ReaderFailsMidwayUnknownSize", func(t *testing.T, key string) error {
			return s.Put(ctx(t), key, &genReader{size: 1 << 20, failAt: 1 << 19}, -1, "text/plain")
		}},
		{"ReaderEndsBeforeSize", func(t *testing.T, key string) error {
			return s.Put(ctx(t), key, &genReader{size: 1000}, 4096, "text/plain")
		}},
		{"ContextCancelledMidway", func(t *testing.T, key string) error {
			c, cancel := context.WithCancel(ctx(t))
			defer cancel()
			return s.Put(c, key, &genReader{size: 1 << 20, onByte: 1 << 18, onReach: cancel}, 1<<20, "text/plain")
		}},
		{"ContextAlreadyCancelled", func(t *testing.T, key string) error {
			c, cancel := context.WithCancel(ctx(t))
			cancel()
			return s.Put(c, key, strings.NewReader("x"), 1, "text/plain")
		}},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			key := "failed/" + f.name
			require.Error(t, f.put(t, key))
			requireAbsent(t, s, key)

			// Over an existing object, the failure leaves it as it was.
			put(t, s, key, "the old object", "text/csv")
			require.Error(t, f.put(t, key))
			got, info := get(t, s, key)
			assert.Equal(t, "the old object", got)
			assert.Equal(t, "text/csv", info.ContentType)
		})
	}
}

func testGetCanStopEarly(t *testing.T, s objectstore.Store) {
	const size = 1 << 20
	require.NoError(t, s.Put(ctx(t), "partial/read", &genReader{size: size}, size, ""))
	rc, _, err := s.Get(ctx(t), "partial/read")
	require.NoError(t, err)
	buf := make([]byte, 10)
	_, err = io.ReadFull(rc, buf)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	want := make([]byte, 10)
	_, _ = (&genReader{size: 10}).Read(want)
	assert.Equal(t, want, buf)
}

// genReader hands out size bytes of a fixed pattern without holding them,
// counting them in off. It fails with errBroken at failAt (if > 0), calls
// onMiB at each MiB boundary and onReach once off passes onByte.
type genReader struct {
	size, off, failAt, onByte int64
	onMiB, onReach            func()
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.failAt > 0 && g.off >= g.failAt {
		return 0, errBroken
	}
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, g.size-g.off)
	if g.failAt > 0 {
		n = min(n, g.failAt-g.off)
	}
	if next := (g.off/(1<<20) + 1) << 20; g.off+n > next {
		n = next - g.off // stop at the MiB boundary, so onMiB sees each one
	}
	for i := range n {
		p[i] = pattern(g.off + i)
	}
	g.off += n
	if g.onMiB != nil && g.off%(1<<20) == 0 {
		g.onMiB()
	}
	if g.onReach != nil && g.off >= g.onByte {
		g.onReach()
		g.onReach = nil
	}
	return int(n), nil
}

func pattern(off int64) byte { return byte(off*7 + off>>10) }

// countingHash hashes what it is written and calls onMiB at each MiB.
type countingHash struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n     int64
	onMiB func()
}

func (c *countingHash) Write(p []byte) (int, error) {
	before := c.n / (1 << 20)
	c.n += int64(len(p))
	_, _ = c.h.Write(p) // a hash never fails
	if c.onMiB != nil && c.n/(1<<20) != before {
		c.onMiB()
	}
	return len(p), nil
}

// heapWatch samples the live heap (after a collection, so garbage awaiting
// one does not count) and keeps the largest growth over its start.
type heapWatch struct {
	mu         sync.Mutex
	base, peak uint64
}

func newHeapWatch() *heapWatch {
	w := &heapWatch{base: liveHeap()}
	w.peak = w.base
	return w
}

func (w *heapWatch) sample() {
	h := liveHeap()
	w.mu.Lock()
	w.peak = max(w.peak, h)
	w.mu.Unlock()
}

func (w *heapWatch) growth() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak - w.base
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
