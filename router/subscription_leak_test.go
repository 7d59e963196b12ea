package router_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// TestSubscribersLeavingAbruptlyReleaseUpstreamConnections is the regression
// guard for the fan-out leak: after thousands of subscribers dropped their
// WebSockets at once, the router kept hundreds of upstream connections open and
// new subscriptions received nothing until it was restarted. Here many
// subscribers, each with a token of its own (so each has its own upstream
// connection), vanish without a close frame at every stage of a subscription's
// life: before the upstream is up, while it starts, and while events flow.
// Every upstream connection must then go away, and a new subscriber must be
// served.
func TestSubscribersLeavingAbruptlyReleaseUpstreamConnections(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	const subscribers = 120
	wsURL := "ws" + strings.TrimPrefix(e.url, "http") + "/graphql"

	for round := range 2 {
		var wg sync.WaitGroup
		for i := range subscribers {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				defer conn.CloseNow()
				tok := e.issuer.token(ids[i%len(ids)])
				write := func(s string) bool { return conn.Write(ctx, websocket.MessageText, []byte(s)) == nil }
				if !write(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + tok + `"}}`) {
					return
				}
				if _, _, err := conn.Read(ctx); err != nil { // connection_ack
					t.Errorf("read ack: %v", err)
					return
				}
				// Fast ticks so updates are in flight when the client vanishes.
				if !write(fmt.Sprintf(`{"id":"s%d","type":"subscribe","payload":{"query":"subscription { ticks(count: 100000, intervalMs: 2) { n viewer } }"}}`, i)) {
					return
				}
				// A third leave at once, a third after the first event, a
				// third after several: CloseNow sends no close frame.
				for range i % 3 * 5 {
					if _, _, err := conn.Read(ctx); err != nil {
						t.Errorf("read event: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()

		require.Eventually(t, func() bool { return e.accounts.OpenWebSockets.Load() == 0 }, 15*time.Second, 20*time.Millisecond,
			"round %d: the router still holds %d upstream WebSockets after every subscriber left", round, e.accounts.OpenWebSockets.Load())

		// The router still serves subscriptions, with the right identity.
		id := ids[round]
		c := e.dial("graphql-transport-ws", nil)
		c.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id)})
		c.send(map[string]any{"id": "after", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 2) { n viewer } }`}})
		for n := 1; n <= 2; n++ {
			m := c.mustRead()
			require.Equal(t, "next", m["type"], m)
			require.Equal(t, map[string]any{"data": map[string]any{"ticks": map[string]any{"n": float64(n), "viewer": id}}}, m["payload"])
		}
		require.Equal(t, "complete", c.mustRead()["type"])
		c.conn.CloseNow()
		require.Eventually(t, func() bool { return e.accounts.OpenWebSockets.Load() == 0 }, 15*time.Second, 20*time.Millisecond)
	}
}

// TestSubscriptionEndsWhenTheSubgraphDropsIt: a subgraph that vanishes without a
// close frame ends its subscriptions at once with an error and a complete (it
// used to leave them hanging), and the next subscription opens a fresh upstream.
func TestSubscriptionEndsWhenTheSubgraphDropsIt(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + e.issuer.token(id)})
	c.send(map[string]any{"id": "s", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 100000, intervalMs: 20) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	e.accounts.DropWebSockets()
	var last map[string]any
	for {
		m := c.mustRead()
		if m["type"] == "complete" {
			break
		}
		last = m
	}
	require.Equal(t, "next", last["type"], last)
	// A clear error naming the subgraph, never the raw upstream text (EOF).
	errs, _ := last["payload"].(map[string]any)["errors"].([]any)
	require.Len(t, errs, 1, last)
	first := errs[0].(map[string]any)
	require.Equal(t, "Lost the subscription's connection to Subgraph 'accounts'.", first["message"], last)
	require.Equal(t, map[string]any{"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "accounts"}, first["extensions"], last)
	require.Eventually(t, func() bool { return e.accounts.OpenWebSockets.Load() == 0 }, 10*time.Second, 20*time.Millisecond)

	c.send(map[string]any{"id": "again", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1) { n viewer } }`}})
	m := c.mustRead()
	require.Equal(t, map[string]any{"data": map[string]any{"ticks": map[string]any{"n": float64(1), "viewer": id}}}, m["payload"], m)
}
