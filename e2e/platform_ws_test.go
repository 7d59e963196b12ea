package e2e_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// wsTimeout bounds every wait for a WebSocket message.
const wsTimeout = 15 * time.Second

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient is a graphql-transport-ws client of the router, as a browser or
// app would be: the access token travels in connection_init. One goroutine
// reads (and answers pings) so that waits are channel receives with a
// deadline, never polls.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	msgs   chan wsMessage
	closed chan struct{} // closed when the reader stops
	next   int
}

// dial connects to the router's /graphql with init as connection_init's
// payload and waits for connection_ack.
func (p *platform) dialWith(init map[string]any) *wsClient {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(p.t, err)
	conn.SetReadLimit(1 << 20)
	c := &wsClient{t: p.t, conn: conn, msgs: make(chan wsMessage, 256), closed: make(chan struct{})}
	p.t.Cleanup(c.close)
	go c.read()
	c.send(wsMessage{Type: "connection_init", Payload: c.json(init)})
	m := c.receive()
	require.Equal(p.t, "connection_ack", m.Type, "payload %s", m.Payload)
	return c
}

// dial connects as token ("" is anonymous).
func (p *platform) dial(token string) *wsClient {
	p.t.Helper()
	init := map[string]any{}
	if token != "" {
		init["Authorization"] = "Bearer " + token
	}
	return p.dialWith(init)
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var m wsMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Type {
		case "ping":
			ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
			_ = c.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
			cancel()
		case "pong":
		default:
			c.msgs <- m
		}
	}
}

func (c *wsClient) json(v any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(c.t, err)
	return b
}

func (c *wsClient) send(m wsMessage) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	require.NoError(c.t, c.conn.Write(ctx, websocket.MessageText, c.json(m)))
}

// receive returns the next message other than a keep-alive.
func (c *wsClient) receive() wsMessage {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.closed:
		// Messages read before the close are still queued.
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatal("websocket closed while waiting for a message")
	case <-time.After(wsTimeout):
		c.t.Fatal("no websocket message within", wsTimeout)
	}
	return wsMessage{}
}

// subscribe starts an operation and returns its id.
func (c *wsClient) subscribe(query string, vars map[string]any) string {
	c.t.Helper()
	c.next++
	id := strconv.Itoa(c.next)
	c.send(wsMessage{ID: id, Type: "subscribe", Payload: c.json(map[string]any{"query": query, "variables": vars})})
	return id
}

// result reads the next message, which must be a result of operation id.
func (c *wsClient) result(id string) gqlResponse {
	c.t.Helper()
	m := c.receive()
	require.Equal(c.t, id, m.ID, "message %s %s", m.Type, m.Payload)
	require.Equal(c.t, "next", m.Type, "payload %s", m.Payload)
	var r gqlResponse
	require.NoError(c.t, json.Unmarshal(m.Payload, &r))
	return r
}

// notification reads the next notificationAdded event of operation id.
func (c *wsClient) notification(id string) map[string]any {
	c.t.Helper()
	r := c.result(id)
	require.Empty(c.t, r.Errors)
	n, ok := r.Data["notificationAdded"].(map[string]any)
	require.True(c.t, ok, "data %v", r.Data)
	return n
}

// refusal reads operation id's errors: a protocol "error" message, or a
// "next" carrying only errors.
func (c *wsClient) refusal(id string) []gqlError {
	c.t.Helper()
	m := c.receive()
	require.Equal(c.t, id, m.ID, "message %s %s", m.Type, m.Payload)
	var errs []gqlError
	switch m.Type {
	case "error":
		require.NoError(c.t, json.Unmarshal(m.Payload, &errs))
	case "next":
		var r gqlResponse
		require.NoError(c.t, json.Unmarshal(m.Payload, &r))
		require.Nil(c.t, r.Data["notificationAdded"], "data %v", r.Data)
		errs = r.Errors
	default:
		c.t.Fatalf("want an error for %s, got %s %s", id, m.Type, m.Payload)
	}
	require.NotEmpty(c.t, errs)
	return errs
}

// quiet asserts that nothing but keep-alives arrives within d. It shows the
// absence of duplicates once everything expected has arrived, so it is the
// one fixed wait here, and kept short.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected message: %s %s %s", m.ID, m.Type, m.Payload)
	case <-time.After(d):
	}
}

// close ends the connection the way a client going away does.
func (c *wsClient) close() {
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	<-c.closed
}
