package subgraphtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	t    testing.TB
	conn *websocket.Conn
	next atomic.Int64
	mux  mux // Exec's state
}

// mux routes messages to the Exec calls waiting for them.
type mux struct {
	once    sync.Once
	mu      sync.Mutex
	waiting map[string]chan WSMessage
	err     error // why the connection's reader stopped
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
func DialWS(t testing.TB, baseURL string, c Caller) *WS {
	t.Helper()
	payload := map[string]any{}
	if c.Assertion != "" {
		payload[identity.Header] = c.Assertion
	}
	return DialWSWith(t, baseURL, payload)
}

// DialWSWith connects to baseURL's /graphql (a subgraph's or the router's)
// and completes the connection_init handshake with payload.
func DialWSWith(t testing.TB, baseURL string, payload map[string]any) *WS {
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

// Events reads one result of each operation in fields (id -> its
// subscription field), in whatever order they arrive — events of different
// operations, from different upstreams, have no order between them — and
// returns each operation's data field.
func (w *WS) Events(fields map[string]string) map[string]map[string]any {
	w.t.Helper()
	out := make(map[string]map[string]any, len(fields))
	for len(out) < len(fields) {
		ctx, cancel := context.WithTimeout(context.Background(), wsTimeout)
		m := w.read(ctx)
		cancel()
		field, ok := fields[m.ID]
		require.True(w.t, ok && out[m.ID] == nil, "unexpected message %s %s %s", m.ID, m.Type, m.Payload)
		require.Equal(w.t, "next", m.Type, "payload %s", m.Payload)
		var r Response
		require.NoError(w.t, json.Unmarshal(m.Payload, &r))
		require.Empty(w.t, r.Errors)
		v, isObject := r.Data[field].(map[string]any)
		require.True(w.t, isObject, "data %v", r.Data)
		out[m.ID] = v
	}
	return out
}

// CloseCode waits until the server closes the connection (messages that
// arrive meanwhile are skipped) and returns its close code and reason; it
// fails the test when no close arrives within d.
func (w *WS) CloseCode(d time.Duration) (websocket.StatusCode, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, _, err := w.conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		require.ErrorAs(w.t, err, &ce, "no close frame within %v", d)
		return ce.Code, ce.Reason
	}
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

// Exec runs one query or mutation (payload is the subscribe message's
// payload: query, variables, operationName, extensions) and returns its
// result; the protocol's "error" message comes back as a Response with
// errors. Unlike the other methods it is safe for concurrent use and returns
// failures instead of failing the test, so that many goroutines can share the
// connection; once Exec was called, the connection is read by Exec alone.
func (w *WS) Exec(ctx context.Context, payload map[string]any) (Response, error) {
	w.mux.once.Do(func() {
		w.mux.waiting = map[string]chan WSMessage{}
		go w.route()
	})
	id := fmt.Sprint(w.next.Add(1))
	ch := make(chan WSMessage, 2)
	w.mux.mu.Lock()
	if err := w.mux.err; err != nil {
		w.mux.mu.Unlock()
		return Response{}, err
	}
	w.mux.waiting[id] = ch
	w.mux.mu.Unlock()
	defer func() {
		w.mux.mu.Lock()
		delete(w.mux.waiting, id)
		w.mux.mu.Unlock()
	}()
	body, err := json.Marshal(WSMessage{ID: id, Type: "subscribe", Payload: mustJSON(payload)})
	if err != nil {
		return Response{}, err
	}
	if err := w.conn.Write(ctx, websocket.MessageText, body); err != nil {
		return Response{}, err
	}
	var out Response
	for {
		select {
		case <-ctx.Done():
			return Response{}, ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return Response{}, fmt.Errorf("connection closed: %w", w.mux.err)
			}
			switch m.Type {
			case "next":
				if err := json.Unmarshal(m.Payload, &out); err != nil {
					return Response{}, fmt.Errorf("next %s: %w", m.Payload, err)
				}
			case "error":
				if err := json.Unmarshal(m.Payload, &out.Errors); err != nil {
					return Response{}, fmt.Errorf("error %s: %w", m.Payload, err)
				}
				return out, nil
			case "complete":
				return out, nil
			default:
				return Response{}, fmt.Errorf("unexpected %s message: %s", m.Type, m.Payload)
			}
		}
	}
}

// route reads every message for Exec until the connection ends.
func (w *WS) route() {
	ctx := context.Background()
	for {
		_, b, err := w.conn.Read(ctx)
		var m WSMessage
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			w.mux.mu.Lock()
			w.mux.err = err
			for id, ch := range w.mux.waiting {
				close(ch)
				delete(w.mux.waiting, id)
			}
			w.mux.mu.Unlock()
			return
		}
		switch m.Type {
		case "ping":
			_ = w.conn.Write(ctx, websocket.MessageText, mustJSON(WSMessage{Type: "pong"}))
			continue
		case "pong":
			continue
		}
		w.mux.mu.Lock()
		if ch, ok := w.mux.waiting[m.ID]; ok {
			ch <- m // room for next and complete; nothing else follows them
		}
		w.mux.mu.Unlock()
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only values of this package's own making
	}
	return b
}
