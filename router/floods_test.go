package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// TestTrickledBodyIsCutOff: a body sent a byte at a time gets 408 once the
// body read timeout passes, instead of holding a goroutine and a socket.
func TestTrickledBodyIsCutOff(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.BodyReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	_, err = conn.Write([]byte("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"))
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte now and then, never the whole body
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer: the trickle holds the request")
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
}

// TestLiveConnectionCaps: WebSocket connections per client address and
// subscriptions per principal are bounded, with clear refusals, and a freed
// slot can be used again. SSE subscriptions count against the same slots.
func TestLiveConnectionCaps(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxConnectionsPerIP, c.MaxSubscriptionsPerPrincipal = 2, 2 })

	first := e.dial("graphql-transport-ws", nil)
	e.dial("graphql-transport-ws", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.Error(t, err, "a third connection from one address")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	first.conn.CloseNow()
	require.Eventually(t, func() bool {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err == nil {
			c.CloseNow()
		}
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "the closed connection's slot comes back")

	// Subscriptions per principal: two open, the third refused, over any transport.
	e2 := setup(t, func(_ *env, c *router.Config) { c.MaxSubscriptionsPerPrincipal = 2 })
	tok := e2.issuer.token(e2.userIDs()[0])
	c := e2.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + tok})
	long := map[string]any{"query": `subscription { ticks(count: 100000, intervalMs: 1000) { n } }`}
	c.send(map[string]any{"id": "a", "type": "subscribe", "payload": long})
	c.send(map[string]any{"id": "b", "type": "subscribe", "payload": long})
	c.send(map[string]any{"id": "c", "type": "subscribe", "payload": long})
	for {
		m := c.mustRead()
		if m["id"] != "c" {
			continue // the first ticks of a and b
		}
		require.Equal(t, "error", m["type"], "%v", m)
		require.Contains(t, jsonString(m["payload"]), "RATE_LIMITED")
		break
	}
	status, _, _ := e2.sseEvents(`subscription { ticks(count: 1) { n } }`, bearer(tok)...)
	require.Equal(t, http.StatusTooManyRequests, status, "SSE counts against the same slots")

	c.send(map[string]any{"id": "a", "type": "complete"})
	require.Eventually(t, func() bool {
		status, _, _ := e2.sseEvents(`subscription { ticks(count: 1) { n } }`, bearer(tok)...)
		return status == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "an ended subscription's slot comes back")
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
