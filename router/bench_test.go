package router_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/router"
)

// The router's overhead, measured in-process against the accounts test
// subgraph. Every client goroutine acts as a user of its own with a token of
// its own, so the engine's de-duplication cannot flatter the figures.
//
//	go test -run '^$' -bench BenchmarkQuery -benchmem .
//
// "direct" calls the subgraph as the router would (with an assertion), "router"
// goes through the router with a bearer token; the difference of ns/op is the
// router's cost per request: its latency at 1 connection, and with 16 (the
// machine's cores saturated) its CPU time.
func BenchmarkQuery(b *testing.B) {
	e := setup(b, func(e *env, c *router.Config) {
		// The access log stays on, written as JSON, as in production.
		e.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
		// BENCH_RATE_LIMIT=1 measures with rate limiting (and the deny-list
		// read in its round trip).
		c.RateLimit = os.Getenv("BENCH_RATE_LIMIT") == "1"
		c.RateLimitUser = 1 << 30
		// BENCH_DENYLIST_CHECK_INTERVAL=1s measures ROUTER_DENYLIST_CHECK_INTERVAL.
		if d, err := time.ParseDuration(os.Getenv("BENCH_DENYLIST_CHECK_INTERVAL")); err == nil {
			c.DenyListCheckInterval = d
		}
	})
	ids := e.userIDs()
	const query = `query($id: ID!) { user(id: $id) { id username } }`
	var seq atomic.Int64
	// client returns the URL and headers of one simulated client.
	client := func(direct bool) (string, http.Header) {
		n := seq.Add(1)
		id := ids[int(n)%len(ids)]
		h := http.Header{"Content-Type": {"application/json"}}
		if direct {
			a, err := e.signer.Sign(identity.Principal{UserID: id, TokenID: fmt.Sprint("bench-", n)}, "accounts")
			require.NoError(b, err)
			h.Set(identity.Header, a)
			return e.accountsURL, h
		}
		h.Set("Authorization", "Bearer "+e.issuer.token(id))
		return e.url + "/graphql", h
	}
	body := func() []byte {
		id := ids[int(seq.Load())%len(ids)]
		b, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"id": id}})
		return b
	}()
	transport := &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}
	hc := &http.Client{Transport: transport}
	do := func(u string, h http.Header) {
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		req.Header = h
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	for _, direct := range []bool{true, false} {
		name := "router"
		if direct {
			name = "direct"
		}
		b.Run(name+"/conns=1", func(b *testing.B) {
			u, h := client(direct)
			do(u, h)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				do(u, h)
			}
		})
		b.Run(name+"/conns=16", func(b *testing.B) {
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				u, h := client(direct)
				for pb.Next() {
					do(u, h)
				}
			})
		})
	}
}

// BenchmarkIdleWebSocket measures the router's memory per idle subscriber: N
// clients (minimal raw sockets, so the client side weighs next to nothing) over
// N/10 users, as make bench-fanout spreads them, each with one long-idle
// subscription. Reported per connection: Go heap and stacks in use, goroutines,
// and the upstream WebSockets the subgraph holds (the in-process subgraph's
// share of memory is included).
//
//	go test -run '^$' -bench BenchmarkIdleWebSocket -benchtime 1x .
func BenchmarkIdleWebSocket(b *testing.B) {
	const clients, users = 2000, 200
	e := setup(b)
	ids := e.userIDs()
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = e.issuer.token(ids[i%len(ids)])
	}
	addr := strings.TrimPrefix(e.url, "http://")
	sub := `{"id":"1","type":"subscribe","payload":{"query":"subscription { ticks(count: 1, intervalMs: 1000000000) { n } }"}}`

	for b.Loop() {
		before := inUse()
		goroutines := runtime.NumGoroutine()
		conns := make([]net.Conn, 0, clients)
		for i := range clients {
			c, err := rawSubscribe(addr, `{"type":"connection_init","payload":{"Authorization":"Bearer `+tokens[i%users]+`"}}`, sub)
			require.NoError(b, err)
			conns = append(conns, c)
		}
		require.Eventually(b, func() bool { return e.metric("router_subscriptions_active") == clients }, 30*time.Second, 50*time.Millisecond)
		after := inUse()
		if path := os.Getenv("HEAP_PROFILE"); path != "" {
			f, err := os.Create(path)
			require.NoError(b, err)
			require.NoError(b, pprof.WriteHeapProfile(f))
			require.NoError(b, f.Close())
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.Logf("stacks in use: %d KiB", ms.StackInuse/1024)
		}
		b.ReportMetric(float64(after-before)/clients/1024, "KiB/conn")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/clients, "goroutines/conn")
		b.ReportMetric(float64(e.accounts.OpenWebSockets.Load()), "upstream-conns")
		for _, c := range conns {
			require.NoError(b, c.Close())
		}
		require.Eventually(b, func() bool { return e.accounts.OpenWebSockets.Load() == 0 }, 30*time.Second, 50*time.Millisecond)
	}
}

// inUse is the Go heap and stack memory in use after a full collection.
func inUse() uint64 {
	// Several cycles: each may halve a goroutine stack that is mostly unused,
	// as a long-running router's periodic collections do.
	for range 5 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// metric reads one unlabelled gauge or counter from the router's /metrics.
func (e *env) metric(name string) int {
	resp, err := http.Get(e.adminURL + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return int(f)
		}
	}
	return -1
}

// rawSubscribe opens a graphql-transport-ws connection with nothing but a
// socket: the handshake, connection_init, the ack, and one subscribe.
func rawSubscribe(addr, initMsg, subscribe string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	// fail gives the socket back and reports err, the failure that matters.
	fail := func(err error) (net.Conn, error) {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	u := url.URL{Scheme: "http", Host: addr, Path: "/graphql"}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\nSec-WebSocket-Key: " +
		fmt.Sprintf("%x", key)[:22] + "==\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return fail(fmt.Errorf("upgrade: %v %v", resp, err))
	}
	if err := writeFrame(c, initMsg); err != nil {
		return fail(err)
	}
	// The ack is a short unmasked text frame.
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fail(err)
	}
	ack := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, ack); err != nil || !bytes.Contains(ack, []byte("connection_ack")) {
		return fail(fmt.Errorf("ack: %q %v", ack, err))
	}
	if err := writeFrame(c, subscribe); err != nil {
		return fail(err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// writeFrame writes one masked text frame, as clients must.
func writeFrame(w io.Writer, payload string) error {
	var f bytes.Buffer
	f.WriteByte(0x81)
	switch n := len(payload); {
	case n < 126:
		f.WriteByte(0x80 | byte(n))
	default:
		f.WriteByte(0x80 | 126)
		_ = binary.Write(&f, binary.BigEndian, uint16(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	f.Write(mask[:])
	for i := range len(payload) {
		f.WriteByte(payload[i] ^ mask[i%4])
	}
	_, err := w.Write(f.Bytes())
	return err
}
