package notifications_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/notifications/notify"
)

// env is one notifications service on its own database and Redis.
type env struct {
	*subgraphtest.Env
	app *notifications.App
	cfg notifications.Config
}

func setup(t *testing.T) *env {
	t.Helper()
	base := subgraphtest.New(t, "notifications", 3)
	cfg := notifications.DefaultConfig()
	cfg.Subgraph = base.Config
	e := &env{Env: base, cfg: cfg}
	e.app = e.start(base)
	return e
}

// start runs one more replica of the service on the same database and Redis.
func (e *env) start(base *subgraphtest.Env) *notifications.App {
	e.T.Helper()
	app, err := notifications.New(context.Background(), e.cfg, e.Log)
	require.NoError(e.T, err)
	e.T.Cleanup(app.Close)
	base.Serve(app.Serve)
	return app
}

// replica starts a second service on the same database and Redis and returns
// its URL.
func (e *env) replica() (*notifications.App, string) {
	e.T.Helper()
	other := *e.Env
	app := e.start(&other)
	return app, other.URL
}

// deliver stores a notification for user the way the worker does.
func (e *env) deliver(user uuid.UUID, kind, title string) notify.Delivery {
	e.T.Helper()
	d, err := e.app.Notify.Deliver(context.Background(), event(user, kind, title))
	require.NoError(e.T, err)
	return d
}

func event(user uuid.UUID, kind, title string) tasks.NotificationDeliver {
	return tasks.NotificationDeliver{
		EventID: uuid.NewString(), RecipientID: user.String(), Kind: kind, Title: title,
		Body: "body of " + title, Link: "/somewhere", Data: map[string]any{"n": 1},
		CreatedAt: time.Now().UTC(),
	}
}

// wsClient speaks graphql-transport-ws to a subgraph.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	next atomic.Int64
}

// wsMessage is one protocol message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS connects to baseURL's /graphql as caller and completes the
// connection_init handshake, carrying the assertion in the init payload.
func dialWS(t *testing.T, baseURL string, c subgraphtest.Caller) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   http.Header{},
	})
	require.NoError(t, err)
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	w := &wsClient{t: t, conn: conn}
	payload := map[string]any{}
	if c.Assertion != "" {
		payload[identity.Header] = c.Assertion
	}
	w.send(ctx, wsMessage{Type: "connection_init", Payload: mustJSON(t, payload)})
	ack := w.read(ctx)
	require.Equal(t, "connection_ack", ack.Type)
	return w
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func (w *wsClient) send(ctx context.Context, m wsMessage) {
	w.t.Helper()
	b, err := json.Marshal(m)
	require.NoError(w.t, err)
	require.NoError(w.t, w.conn.Write(ctx, websocket.MessageText, b))
}

// read returns the next message that is not a keep-alive ping.
func (w *wsClient) read(ctx context.Context) wsMessage {
	w.t.Helper()
	for {
		_, b, err := w.conn.Read(ctx)
		require.NoError(w.t, err)
		var m wsMessage
		require.NoError(w.t, json.Unmarshal(b, &m))
		if m.Type == "ping" {
			w.send(ctx, wsMessage{Type: "pong"})
			continue
		}
		if m.Type == "pong" {
			continue
		}
		return m
	}
}

// subscribe starts an operation and returns its id.
func (w *wsClient) subscribe(query string, vars map[string]any) string {
	w.t.Helper()
	id := fmt.Sprint(w.next.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.send(ctx, wsMessage{ID: id, Type: "subscribe", Payload: mustJSON(w.t, map[string]any{"query": query, "variables": vars})})
	return id
}

// nextPayload is the payload of a "next" message.
type nextPayload struct {
	Data   map[string]any       `json:"data"`
	Errors []subgraphtest.Error `json:"errors"`
}

// expect reads the next message, which must be of type typ for operation id.
func (w *wsClient) expect(id, typ string) wsMessage {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := w.read(ctx)
	require.Equal(w.t, id, m.ID, "message %s %s", m.Type, m.Payload)
	require.Equal(w.t, typ, m.Type, "payload %s", m.Payload)
	return m
}

const notificationAdded = `subscription($after: ID) { notificationAdded(after: $after) { id kind title recipient { id } } }`

// added reads the next notificationAdded event of operation id.
func (w *wsClient) added(id string) map[string]any {
	w.t.Helper()
	m := w.expect(id, "next")
	var p nextPayload
	require.NoError(w.t, json.Unmarshal(m.Payload, &p))
	require.Empty(w.t, p.Errors)
	return p.Data["notificationAdded"].(map[string]any)
}

// opError reads the refusal of operation id: gqlgen reports resolver errors
// in a "next" payload (then "complete"), validation errors as "error".
func (w *wsClient) opError(id string) subgraphtest.Error {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := w.read(ctx)
	require.Equal(w.t, id, m.ID)
	var errs []subgraphtest.Error
	switch m.Type {
	case "error":
		require.NoError(w.t, json.Unmarshal(m.Payload, &errs))
	case "next":
		var p nextPayload
		require.NoError(w.t, json.Unmarshal(m.Payload, &p))
		require.Nil(w.t, p.Data["notificationAdded"])
		errs = p.Errors
	default:
		w.t.Fatalf("want an error, got %s %s", m.Type, m.Payload)
	}
	require.Len(w.t, errs, 1)
	return errs[0]
}

// quiet asserts that nothing arrives for a while: used only to show the
// absence of duplicates after everything expected has arrived. It ends the
// connection (a read cancelled by its context closes a coder/websocket).
func (w *wsClient) quiet(d time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := w.conn.Read(ctx)
	if err == nil {
		var m wsMessage
		_ = json.Unmarshal(b, &m)
		if m.Type != "ping" && m.Type != "pong" {
			w.t.Fatalf("unexpected message: %s", b)
		}
	}
}
