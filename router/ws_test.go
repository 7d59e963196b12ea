package router_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/router"
)

// wsClient is a minimal client of either protocol.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func (e *env) dial(protocol string, header http.Header) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{protocol}, HTTPHeader: header,
	})
	require.NoError(e.t, err)
	require.Equal(e.t, protocol, resp.Header.Get("Sec-WebSocket-Protocol"))
	c := &wsClient{t: e.t, conn: conn}
	e.t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *wsClient) send(m map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	require.NoError(c.t, c.conn.Write(context.Background(), websocket.MessageText, b))
}

// read returns the next message, skipping keep-alives.
func (c *wsClient) read() (map[string]any, error) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, data, err := c.conn.Read(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		var m map[string]any
		require.NoError(c.t, json.Unmarshal(data, &m))
		if m["type"] == "ka" || m["type"] == "ping" {
			continue
		}
		return m, nil
	}
}

func (c *wsClient) mustRead() map[string]any {
	c.t.Helper()
	m, err := c.read()
	require.NoError(c.t, err)
	return m
}

// closeCode waits for the server to close the connection and returns its code and reason.
func (c *wsClient) closeCode() (websocket.StatusCode, string) {
	c.t.Helper()
	// Messages may keep coming (a live subscription): the close must still
	// arrive within the bound.
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.True(c.t, time.Now().Before(deadline), "the connection was not closed within 10s")
		_, err := c.read()
		if err != nil {
			var ce websocket.CloseError
			require.True(c.t, errors.As(err, &ce), "want a close frame, got %v", err)
			return ce.Code, ce.Reason
		}
	}
}

func (c *wsClient) init(payload map[string]any) {
	c.t.Helper()
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	require.Equal(c.t, "connection_ack", c.mustRead()["type"])
}

func TestSubscriptionOverGraphQLTransportWS(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id)})

	c.send(map[string]any{"type": "ping"})
	require.Equal(t, "pong", c.mustRead()["type"])

	c.send(map[string]any{"id": "s1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($n: Int!) { ticks(count: $n) { n viewer } }`, "variables": map[string]any{"n": 3}}})
	for i := 1; i <= 3; i++ {
		m := c.mustRead()
		require.Equal(t, "next", m["type"], m)
		require.Equal(t, "s1", m["id"])
		require.Equal(t, map[string]any{"data": map[string]any{"ticks": map[string]any{"n": float64(i), "viewer": id}}}, m["payload"])
	}
	require.Equal(t, map[string]any{"id": "s1", "type": "complete"}, c.mustRead())

	// Queries work over the socket too, with the connection's identity.
	c.send(map[string]any{"id": "q1", "type": "subscribe", "payload": map[string]any{"query": `{ me { username } }`}})
	m := c.mustRead()
	require.Equal(t, "next", m["type"], m)
	require.Equal(t, map[string]any{"data": map[string]any{"me": map[string]any{"username": "ada"}}}, m["payload"])
	require.Equal(t, "complete", c.mustRead()["type"])

	// A validation error ends only that operation.
	c.send(map[string]any{"id": "bad", "type": "subscribe", "payload": map[string]any{"query": `subscription { nope }`}})
	m = c.mustRead()
	require.Equal(t, "error", m["type"], m)
	require.Equal(t, "bad", m["id"])

	// The client can stop a subscription; the id is free again afterwards.
	c.send(map[string]any{"id": "s2", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1000, intervalMs: 20) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	c.send(map[string]any{"id": "s2", "type": "complete"})
	c.send(map[string]any{"id": "s2", "type": "subscribe", "payload": map[string]any{"query": `{ latestReview { body } }`}})
	for {
		m := c.mustRead()
		if m["id"] == "s2" && m["type"] == "next" {
			if p, _ := m["payload"].(map[string]any); p["data"] != nil && p["data"].(map[string]any)["latestReview"] != nil {
				break
			}
		}
	}
	require.Equal(t, map[string]any{"id": "s2", "type": "complete"}, c.mustRead())

	require.Equal(t, []string{"graphql-transport-ws", "graphql-transport-ws"}, e.accounts.Protocols(), "upstream is pinned to graphql-transport-ws")
}

func TestSubscriptionOverLegacyGraphQLWS(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[1]
	// Token on the upgrade request this time.
	c := e.dial("graphql-ws", http.Header{"Authorization": {"Bearer " + e.issuer.token(id)}})
	c.init(nil)
	c.send(map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": `subscription { ticks(count: 2) { n viewer } }`}})
	for i := 1; i <= 2; i++ {
		m := c.mustRead()
		require.Equal(t, "data", m["type"], m)
		require.Equal(t, map[string]any{"data": map[string]any{"ticks": map[string]any{"n": float64(i), "viewer": id}}}, m["payload"])
	}
	require.Equal(t, map[string]any{"id": "1", "type": "complete"}, c.mustRead())
	c.send(map[string]any{"type": "connection_terminate"})
	code, _ := c.closeCode()
	require.Equal(t, websocket.StatusNormalClosure, code)
}

func TestSubscriptionIsAnonymousWithoutToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{})
	c.send(map[string]any{"id": "a", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1) { viewer } }`}})
	m := c.mustRead()
	require.Equal(t, map[string]any{"data": map[string]any{"ticks": map[string]any{"viewer": nil}}}, m["payload"])
}

func TestWebSocketCloseCodes(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.WSInitTimeout = 200 * time.Millisecond })
	id := e.userIDs()[2]
	revoked := e.issuer.token(id, func(o *tokenOpts) { o.jti = "gone" })
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("gone"), "1", time.Hour).Err())

	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		subscribe := "subscribe"
		if proto == "graphql-ws" {
			subscribe = "start"
		}
		t.Run(proto, func(t *testing.T) {
			cases := []struct {
				name string
				run  func(c *wsClient)
				code websocket.StatusCode
			}{
				{"invalid token in payload", func(c *wsClient) {
					c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer junk"}})
				}, 4403},
				{"revoked token", func(c *wsClient) {
					c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + revoked}})
				}, 4403},
				{"subscribe before init", func(c *wsClient) {
					c.send(map[string]any{"id": "1", "type": subscribe, "payload": map[string]any{"query": "{ me { id } }"}})
				}, 4401},
				{"no init", func(c *wsClient) {}, 4408},
				{"second init", func(c *wsClient) {
					c.init(nil)
					c.send(map[string]any{"type": "connection_init"})
				}, 4429},
				{"duplicate id", func(c *wsClient) {
					c.init(nil)
					q := map[string]any{"query": `subscription { ticks(count: 100, intervalMs: 50) { n } }`}
					c.send(map[string]any{"id": "dup", "type": subscribe, "payload": q})
					c.send(map[string]any{"id": "dup", "type": subscribe, "payload": q})
				}, 4409},
				{"invalid JSON", func(c *wsClient) {
					require.NoError(t, c.conn.Write(context.Background(), websocket.MessageText, []byte("{nope")))
				}, 4400},
				{"unknown message type", func(c *wsClient) {
					c.init(nil)
					c.send(map[string]any{"type": "bogus"})
				}, 4400},
			}
			for _, tc := range cases {
				c := e.dial(proto, nil)
				tc.run(c)
				code, reason := c.closeCode()
				require.Equal(t, tc.code, code, "%s: %s", tc.name, reason)
			}
		})
	}
	// An invalid token on the upgrade request is refused the same way.
	c := e.dial("graphql-transport-ws", http.Header{"Authorization": {"Bearer junk"}})
	c.send(map[string]any{"type": "connection_init"})
	code, _ := c.closeCode()
	require.Equal(t, websocket.StatusCode(4403), code)

	// Only unknown subprotocols offered: 4406. None offered: graphql-transport-ws.
	for _, offered := range [][]string{{"graphql-sse"}, nil} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{Subprotocols: offered})
		cancel()
		require.NoError(t, err)
		require.Empty(t, resp.Header.Get("Sec-WebSocket-Protocol"))
		c := &wsClient{t: t, conn: conn}
		t.Cleanup(func() { conn.CloseNow() })
		if offered != nil {
			code, reason := c.closeCode()
			require.Equal(t, websocket.StatusCode(4406), code, reason)
			continue
		}
		c.init(nil)
		c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ latestReview { body } }"}})
		m, err := c.read()
		require.NoError(t, err)
		require.Equal(t, "next", m["type"], "%v", m)
	}
}

func TestSubscriptionEndsWhenTokenExpiresOrIsRevoked(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[3]

	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.ttl = 1500 * time.Millisecond })})
	c.send(map[string]any{"id": "x", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1000, intervalMs: 50) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	code, reason := c.closeCode()
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Contains(t, reason, "expired")

	c = e.dial("graphql-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.jti = "to-revoke" })})
	c.send(map[string]any{"id": "y", "type": "start", "payload": map[string]any{"query": `subscription { ticks(count: 1000, intervalMs: 50) { n } }`}})
	require.Equal(t, "data", c.mustRead()["type"])
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("to-revoke"), "1", time.Hour).Err())
	code, reason = c.closeCode()
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Contains(t, reason, "revoked")
}

// sseEvents posts a request asking for text/event-stream and returns the events.
func (e *env) sseEvents(query string, headers ...string) (int, []string, []string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	require.Equal(e.t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	var names, data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			names = append(names, strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
		if len(names) > 0 && names[len(names)-1] == "complete" && len(data) == len(names) {
			break
		}
	}
	return resp.StatusCode, names, data
}

func TestSubscriptionOverSSE(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[4]
	status, names, data := e.sseEvents(`subscription { ticks(count: 3) { n viewer } }`, bearer(e.issuer.token(id))...)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"next", "next", "next", "complete"}, names)
	require.JSONEq(t, `{"data":{"ticks":{"n":3,"viewer":"`+id+`"}}}`, data[2])

	// A query over SSE is one result.
	_, names, data = e.sseEvents(`{ latestReview { body } }`)
	require.Equal(t, []string{"next", "complete"}, names)
	require.JSONEq(t, `{"data":{"latestReview":{"body":"latest"}}}`, data[0])

	// Auth failures are refused before the stream starts.
	status, _, _ = e.sseEvents(`subscription { ticks(count: 1) { n } }`, "Authorization", "Bearer junk")
	require.Equal(t, http.StatusUnauthorized, status)

	// The stream ends with an UNAUTHENTICATED error when the token expires.
	_, names, data = e.sseEvents(`subscription { ticks(count: 1000, intervalMs: 50) { n } }`,
		bearer(e.issuer.token(id, func(o *tokenOpts) { o.ttl = time.Second }))...)
	require.Equal(t, "complete", names[len(names)-1])
	require.Contains(t, data[len(data)-2], "UNAUTHENTICATED")
}

// TestIdleConnectionsHoldNoGoroutine: on Linux an idle connection is only a
// socket and a few structs (the poller reads it when a message arrives),
// which is what lets one router hold tens of thousands of subscribers;
// elsewhere each holds its reading goroutine and nothing more. Either way
// every idle connection still answers as soon as it speaks.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	e := setup(t)
	id := e.userIDs()[0]
	const conns = 100
	// Warm up: one full connection, so pools and background loops exist.
	warm := e.dial("graphql-transport-ws", nil)
	warm.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id)})
	before := runtime.NumGoroutine()

	clients := make([]*wsClient, conns)
	for i := range clients {
		clients[i] = e.dial("graphql-transport-ws", nil)
		clients[i].init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id)})
		clients[i].send(map[string]any{"type": "ping"})
		require.Equal(t, "pong", clients[i].mustRead()["type"])
	}
	perConn := 0 // goroutines an idle connection may hold
	if runtime.GOOS != "linux" {
		perConn = 1
	}
	// The handlers of the last messages may still be returning.
	require.Eventually(t, func() bool { return runtime.NumGoroutine()-before < conns*perConn+conns/10 }, 5*time.Second, 10*time.Millisecond,
		"%d idle connections added %d goroutines", conns, runtime.NumGoroutine()-before)

	for i, c := range clients {
		c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { ticks(count: 1, intervalMs: 1) { n } }`}})
		m := c.mustRead()
		require.Equal(t, "next", m["type"], "connection %d: %v", i, m)
		require.Equal(t, "complete", c.mustRead()["type"])
	}
}

// TestInitSentRightBehindTheUpgrade: a client may send connection_init in the
// same packet as its upgrade request, without waiting for the 101; the router
// finds it already buffered and answers.
func TestInitSentRightBehindTheUpgrade(t *testing.T) {
	t.Parallel()
	e := setup(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	payload := []byte(`{"type":"connection_init"}`)
	frame := []byte{0x81, 0x80 | byte(len(payload)), 1, 2, 3, 4} // FIN text, masked
	for i, b := range payload {
		frame = append(frame, b^frame[2+i%4])
	}
	req := "GET /graphql HTTP/1.1\r\nHost: " + strings.TrimPrefix(e.url, "http://") + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
	_, err = conn.Write(append([]byte(req), frame...))
	require.NoError(t, err)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	head := make([]byte, 2)
	_, err = io.ReadFull(br, head)
	require.NoError(t, err, "no answer to the buffered connection_init")
	require.Equal(t, byte(0x81), head[0])
	body := make([]byte, head[1])
	_, err = io.ReadFull(br, body)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"connection_ack"}`, string(body))
}

// TestStalledSubscriberDelaysNobody: a client that stops reading must not
// slow the others down. Its updates pile up in the router (the resolver
// never waits on its socket) until they pass the buffer bound, and then it is
// disconnected; the live subscribers of the same stream get every update
// meanwhile without a stall. Before, the resolver's event loop waited on the
// stalled client's write for up to its 10 s timeout, holding up every
// subscriber.
func TestStalledSubscriberDelaysNobody(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) {
		c.MaxAliases, c.MaxTokens = 1000, 10000
		// Nine anonymous clients on one address pay for every event.
		c.RateLimitAnonymous = 100_000
	})
	// ~5 KB per update, so the stalled client's socket buffers fill quickly.
	var fields strings.Builder
	for i := range 400 {
		fmt.Fprintf(&fields, " a%d: n", i)
	}
	const count = 1500
	sub := map[string]any{"query": fmt.Sprintf(`subscription { ticks(count: %d, intervalMs: 1) { n%s } }`, count, fields.String())}

	// The stalled client: a small receive window, and it never reads after
	// subscribing.
	dialer := &net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
		var serr error
		err := raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stalledConn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPClient:   &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { stalledConn.CloseNow() })
	stalled := &wsClient{t: t, conn: stalledConn}
	stalled.init(nil)
	stalled.send(map[string]any{"id": "s", "type": "subscribe", "payload": sub})

	const live = 8
	gaps := make(chan time.Duration, live)
	errs := make(chan error, live)
	for range live {
		c := e.dial("graphql-transport-ws", nil)
		c.init(nil)
		c.send(map[string]any{"id": "1", "type": "subscribe", "payload": sub})
		go func() {
			var worst time.Duration
			last := time.Now()
			// Subscribers of one document share its upstream stream: one that
			// joins late misses the first ticks, so the stream's end is
			// the upstream's complete, not a count.
			for n := 0; ; {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, data, err := c.conn.Read(ctx)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("after %d updates: %w", n, err)
					return
				}
				if !bytes.Contains(data, []byte(`"next"`)) {
					switch {
					case bytes.Contains(data, []byte(`"complete"`)) && n > count/2:
						gaps <- worst
						return
					case bytes.Contains(data, []byte(`"error"`)), bytes.Contains(data, []byte(`"complete"`)):
						errs <- fmt.Errorf("after %d updates: %s", n, data)
						return
					}
					continue
				}
				n++
				if n > 1 { // the first waits for the subscription to start
					worst = max(worst, time.Since(last))
				}
				last = time.Now()
			}
		}()
	}
	for range live {
		select {
		case err := <-errs:
			t.Fatal(err)
		case gap := <-gaps:
			// Updates come every millisecond or so; a stall behind the
			// stalled client's write lasted seconds.
			require.Less(t, gap, 2*time.Second, "a live subscriber waited %v between two updates", gap)
		}
	}

	// The stalled client was disconnected before its stream ended: reading
	// what reached its socket ends in an error, never in "complete".
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, data, err := stalledConn.Read(ctx)
		cancel()
		if err != nil {
			require.NotErrorIs(t, err, context.DeadlineExceeded, "the stalled client is still connected")
			break
		}
		require.NotContains(t, string(data), `"complete"`, "the stalled client got its whole stream")
	}
}

// TestAnnouncedRevocationAppliesAtOnce: a logout or password change
// announces its deny-list write (identity.Deny); the router closes the
// token's live connections and refuses its next request at once, although
// here both the periodic revocation check and the deny-list check interval
// are an hour.
func TestAnnouncedRevocationAppliesAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) {
		c.RevocationCheckInterval, c.DenyListCheckInterval = time.Hour, time.Hour
	})
	id := e.userIDs()[2]
	tok := e.issuer.token(id, func(o *tokenOpts) { o.jti, o.sid = "announced-jti", "announced-sid" })
	other := e.issuer.token(id, func(o *tokenOpts) { o.jti = "other-jti" })
	require.Empty(t, e.post(`{ me { id } }`, nil, bearer(tok)...).Errors)

	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + tok})
	c.send(map[string]any{"id": "x", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 100000, intervalMs: 50) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	bystander := e.dial("graphql-transport-ws", nil)
	bystander.init(map[string]any{"Authorization": "Bearer " + other})

	require.NoError(t, identity.Deny(context.Background(), e.deny, time.Hour, identity.DenySessionKey("announced-sid")))
	code, reason := c.closeCode() // within 10s: far sooner than an hour
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Contains(t, reason, "revoked")
	r := e.post(`{ me { id } }`, nil, bearer(tok)...)
	require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Raw))

	// Another token of the same user, in another session, is untouched.
	bystander.send(map[string]any{"id": "q", "type": "subscribe", "payload": map[string]any{"query": `{ me { id } }`}})
	require.Equal(t, "next", bystander.mustRead()["type"])
}

// TestWebSocketMutationRechecksItsToken: a mutation over a WebSocket (a
// logout, say) makes the token read the deny-list on its next use, as an
// HTTP mutation does, whatever ROUTER_DENYLIST_CHECK_INTERVAL says.
func TestWebSocketMutationRechecksItsToken(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.DenyListCheckInterval = time.Hour })
	id := e.userIDs()[1]
	tok := e.issuer.token(id, func(o *tokenOpts) { o.jti = "ws-mutation-jti" })
	require.Equal(t, http.StatusOK, e.post(`{ me { id } }`, nil, bearer(tok)...).Status) // remembered as clean

	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + tok})
	// The deny-list entry a logout writes (unannounced here: only the recheck can find it).
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("ws-mutation-jti"), "1", time.Hour).Err())
	require.Equal(t, http.StatusOK, e.post(`{ me { id } }`, nil, bearer(tok)...).Status, "still remembered as clean")
	c.send(map[string]any{"id": "m", "type": "subscribe", "payload": map[string]any{"query": `mutation { rename(input: {username: "x"}) { id } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	require.Equal(t, http.StatusUnauthorized, e.post(`{ me { id } }`, nil, bearer(tok)...).Status, "the mutation made the token read the deny-list")
}

// An SSE subscription is a request that never finishes on its own: when the
// router drains, it completes at once instead of holding the drain until
// its deadline (which then fails).
func TestDrainCompletesSSEStreams(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body, err := json.Marshal(map[string]any{"query": `subscription { ticks(count: 100000, intervalMs: 100) { n } }`})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: next" {
	}

	e.stop() // fails when Serve reports that the drain timed out
	var events []string
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, name)
		}
	}
	require.NotEmpty(t, events)
	require.Equal(t, "complete", events[len(events)-1], "the stream ends with complete, not a cut connection")
	require.NotContains(t, events[:len(events)-1], "complete")
}
