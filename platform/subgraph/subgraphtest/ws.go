package subgraphtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

// WS is a graphql-transport-ws client of one subgraph (or of anything that
// speaks the protocol at baseURL/graphql).
type WS struct {
	t    *testing.T
	conn *websocket.Conn
	next atomic.Int64
}

// WSMessage is one protocol message.
type WSMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsTimeout bounds every wait for a message (a worker may be delivering it).
const wsTimeout = 15 * time.Second

// DialWS connects to the subgraph's /graphql as c.
func (e *Env) DialWS(c Caller) *WS { return DialWS(e.T, e.URL, c) }

// DialWS connects to baseURL's /graphql and completes the connection_init
// handshake, carrying c's assertion in the init payload as the router does.
func DialWS(t *testing.T, baseURL string, c Caller) *WS {
	t.Helper()
	payload := map[string]any{}
	if c.Assertion != "" {
		payload[identity.Header] = c.Assertion
	}
	return DialWSWith(t, baseURL, payload)
}

// DialWSWith connects to baseURL's /graphql (a subgraph's or the router's)
// and completes the connection_init handshake with payload.
func DialWSWith(t *testing.T, baseURL string, payload map[string]any) *WS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	w := &WS{t: t, conn: conn}
	w.send(ctx, WSMessage{Type: "connection_init", Payload: w.json(payload)})
	m := w.read(ctx)
	require.Equal(t, "connection_ack", m.Type, "payload %s", m.Payload)
	return w
}

func (w *WS) json(v any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(w.t, err)
	return b
}

func (w *WS) send(ctx context.Context, m WSMessage) {
	w.t.Helper()
	require.NoError(w.t, w.conn.Write(ctx, websocket.MessageText, w.json(m)))
}

// read returns the next message that is not a keep-alive.
func (w *WS) read(ctx context.Context) WSMessage {
	w.t.Helper()
	for {
		_, b, err := w.conn.Read(ctx)
		require.NoError(w.t, err)
		var m WSMessage
		require.NoError(w.t, json.Unmarshal(b, &m))
		switch m.Type {
		case "ping":
			w.send(ctx, WSMessage{Type: "pong"})
		case "pong":
		default:
			return m
		}
	}
}

// Subscribe starts an operation and returns its id.
func (w *WS) Subscribe(query string, vars map[string]any) string {
	w.t.Helper()
	id := fmt.Sprint(w.next.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	w.send(ctx, WSMessage{ID: id, Type: "subscribe", Payload: w.json(map[string]any{"query": query, "variables": vars})})
	return id
}

// Stop ends operation id.
func (w *WS) Stop(id string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	w.send(ctx, WSMessage{ID: id, Type: "complete"})
}

// Expect reads the next message, which must be of type typ for operation id.
func (w *WS) Expect(id, typ string) WSMessage {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	m := w.read(ctx)
	require.Equal(w.t, id, m.ID, "message %s %s", m.Type, m.Payload)
	require.Equal(w.t, typ, m.Type, "payload %s", m.Payload)
	return m
}

// Next reads the next result of operation id.
func (w *WS) Next(id string) Response {
	w.t.Helper()
	var r Response
	require.NoError(w.t, json.Unmarshal(w.Expect(id, "next").Payload, &r))
	return r
}

// Event reads the next result of operation id, which must carry no errors,
// and returns its data's field (an event of a subscription to field).
func (w *WS) Event(id, field string) map[string]any {
	w.t.Helper()
	r := w.Next(id)
	require.Empty(w.t, r.Errors)
	v, ok := r.Data[field].(map[string]any)
	require.True(w.t, ok, "data %v", r.Data)
	return v
}

// Close ends the connection normally, as a client going away does.
func (w *WS) Close() { _ = w.conn.Close(websocket.StatusNormalClosure, "") }

// OpError reads the refusal of operation id: gqlgen reports resolver errors
// in a "next" payload (then "complete"), the protocol's "error" message
// carries validation errors.
func (w *WS) OpError(id string) Error {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
	defer cancel()
	m := w.read(ctx)
	require.Equal(w.t, id, m.ID)
	var errs []Error
	switch m.Type {
	case "error":
		require.NoError(w.t, json.Unmarshal(m.Payload, &errs))
	case "next":
		var r Response
		require.NoError(w.t, json.Unmarshal(m.Payload, &r))
		errs = r.Errors
	default:
		w.t.Fatalf("want an error, got %s %s", m.Type, m.Payload)
	}
	require.Len(w.t, errs, 1)
	return errs[0]
}

// Quiet asserts that no message arrives within d: only for showing the
// absence of duplicates once everything expected has arrived. It ends the
// connection (a cancelled read closes a coder/websocket connection).
func (w *WS) Quiet(d time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, b, err := w.conn.Read(ctx)
		if err != nil {
			return
		}
		var m WSMessage
		_ = json.Unmarshal(b, &m)
		if m.Type != "ping" && m.Type != "pong" {
			w.t.Fatalf("unexpected message: %s", b)
		}
	}
}
