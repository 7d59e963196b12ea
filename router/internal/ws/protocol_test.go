package ws

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/router/internal/engine"
	"supergraph/router/internal/pipeline"
	"supergraph/router/internal/telemetry"
)

// The protocol state machine over a real socket and a real pipeline on the
// platform's graph. Anonymous callers and documents that need no subgraph
// ({ __typename }) keep it to this package; router/ws_test.go drives
// subscriptions end to end.

func newTestHandler(t *testing.T, mod func(*Options)) string {
	t.Helper()
	g, err := engine.ReadGraph("../../../graph/config.json")
	require.NoError(t, err)
	e, err := engine.New(g, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	tel, err := telemetry.New(telemetry.Options{})
	require.NoError(t, err)
	opts := Options{
		Pipeline:        pipeline.New(pipeline.Options{Engine: e, Telemetry: tel}),
		InitTimeout:     5 * time.Second,
		KeepAlive:       time.Hour,
		MaxMessageBytes: 1 << 16,
	}
	if mod != nil {
		mod(&opts)
	}
	h := NewHandler(opts)
	t.Cleanup(h.Shutdown)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r, "test", nil)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, url, protocol string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var subprotocols []string
	if protocol != "" {
		subprotocols = []string{protocol}
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: subprotocols})
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return &client{t: t, conn: c}
}

func (c *client) send(m string) {
	c.t.Helper()
	require.NoError(c.t, c.conn.Write(context.Background(), websocket.MessageText, []byte(m)))
}

// next reads one message, or returns the close status that ended the connection.
func (c *client) next() (map[string]any, websocket.StatusCode) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		code := websocket.CloseStatus(err)
		require.NotEqual(c.t, websocket.StatusCode(-1), code, "read: %v", err)
		return nil, code
	}
	var m map[string]any
	require.NoError(c.t, json.Unmarshal(data, &m), string(data))
	return m, 0
}

func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	m, code := c.next()
	require.Zero(c.t, code, "closed with %d, wanted %q", code, typ)
	require.Equal(c.t, typ, m["type"], m)
	return m
}

func (c *client) expectClose(want websocket.StatusCode) {
	c.t.Helper()
	for {
		m, code := c.next()
		if code != 0 {
			require.Equal(c.t, want, code)
			return
		}
		require.NotEqual(c.t, "next", m["type"], "a message before the close: %v", m)
	}
}

func TestProtocolStateMachine(t *testing.T) {
	t.Parallel()
	url := newTestHandler(t, nil)
	const init = `{"type":"connection_init"}`
	const query = `{"id":"1","type":"subscribe","payload":{"query":"{ __typename }"}}`

	// Each case: messages sent after the upgrade and the close code the
	// connection ends with (0: it stays open and answers a ping).
	for _, tc := range []struct {
		name     string
		protocol string
		send     []string
		close    websocket.StatusCode
	}{
		{"subscribe before init", ProtocolTransportWS, []string{query}, CloseUnauthorized},
		{"second init", ProtocolTransportWS, []string{init, init}, CloseTooManyInitRequests},
		{"not JSON", ProtocolTransportWS, []string{`{`}, CloseBadRequest},
		{"no type", ProtocolTransportWS, []string{`{"id":"1"}`}, CloseBadRequest},
		{"unknown type", ProtocolTransportWS, []string{init, `{"type":"hello"}`}, CloseBadRequest},
		{"legacy start on graphql-transport-ws", ProtocolTransportWS, []string{init, `{"id":"1","type":"start","payload":{"query":"{ __typename }"}}`}, CloseBadRequest},
		{"subscribe on legacy graphql-ws", ProtocolLegacyWS, []string{init, query}, CloseBadRequest},
		{"subscribe without id", ProtocolTransportWS, []string{init, `{"type":"subscribe","payload":{"query":"{ __typename }"}}`}, CloseBadRequest},
		{"subscribe without query", ProtocolTransportWS, []string{init, `{"id":"1","type":"subscribe","payload":{}}`}, CloseBadRequest},
		{"init payload not an object", ProtocolTransportWS, []string{`{"type":"connection_init","payload":[1]}`}, CloseBadRequest},
		{"legacy connection_terminate", ProtocolLegacyWS, []string{init, `{"type":"connection_terminate"}`}, websocket.StatusNormalClosure},
		{"complete of an unknown id is ignored", ProtocolTransportWS, []string{init, `{"id":"9","type":"complete"}`}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, url, tc.protocol)
			for _, m := range tc.send {
				c.send(m)
			}
			if tc.close != 0 {
				c.expectClose(tc.close)
				return
			}
			c.expect("connection_ack")
			c.send(`{"type":"ping","payload":{"n":1}}`)
			pong := c.expect("pong")
			require.Equal(t, map[string]any{"n": float64(1)}, pong["payload"], "pong echoes the ping's payload")
		})
	}
}

func TestProtocolOperations(t *testing.T) {
	t.Parallel()
	url := newTestHandler(t, nil)

	t.Run("graphql-transport-ws", func(t *testing.T) {
		t.Parallel()
		c := dial(t, url, ProtocolTransportWS)
		c.send(`{"type":"connection_init","payload":{}}`)
		c.expect("connection_ack")
		c.send(`{"id":"q","type":"subscribe","payload":{"query":"{ __typename }"}}`)
		next := c.expect("next")
		require.Equal(t, "q", next["id"])
		require.Equal(t, map[string]any{"data": map[string]any{"__typename": "Query"}}, next["payload"])
		require.Equal(t, "q", c.expect("complete")["id"])

		// A document that fails validation ends that operation with an
		// error message; the connection and the id stay usable.
		c.send(`{"id":"q","type":"subscribe","payload":{"query":"{ nope }"}}`)
		e := c.expect("error")
		require.Equal(t, "q", e["id"])
		errs, _ := e["payload"].([]any)
		require.Len(t, errs, 1)
		require.Equal(t, "GRAPHQL_VALIDATION_FAILED", errs[0].(map[string]any)["extensions"].(map[string]any)["code"])
		c.send(`{"id":"q","type":"subscribe","payload":{"query":"{ __typename }"}}`)
		c.expect("next")
		c.expect("complete")
	})

	t.Run("legacy graphql-ws", func(t *testing.T) {
		t.Parallel()
		c := dial(t, url, ProtocolLegacyWS)
		c.send(`{"type":"connection_init"}`)
		c.expect("connection_ack")
		c.send(`{"id":"q","type":"start","payload":{"query":"{ __typename }"}}`)
		require.Equal(t, map[string]any{"data": map[string]any{"__typename": "Query"}}, c.expect("data")["payload"])
		c.expect("complete")
		// Validation failures are a data message carrying errors, then complete.
		c.send(`{"id":"q","type":"start","payload":{"query":"{ nope }"}}`)
		data := c.expect("data")
		require.Contains(t, data["payload"], "errors")
		c.expect("complete")
	})
}

func TestInitTimeout(t *testing.T) {
	t.Parallel()
	url := newTestHandler(t, func(o *Options) { o.InitTimeout = 50 * time.Millisecond })
	c := dial(t, url, ProtocolTransportWS)
	c.expectClose(CloseInitTimeout)
}

func TestNoSubprotocolMeansGraphQLTransportWS(t *testing.T) {
	t.Parallel()
	url := newTestHandler(t, nil)
	c := dial(t, url, "")
	c.send(`{"type":"connection_init"}`)
	c.expect("connection_ack")
	c.send(`{"type":"ping"}`)
	c.expect("pong")

	// Offering only protocols the server does not speak is refused.
	c2 := dial(t, url, "graphql-something-else")
	c2.expectClose(CloseSubprotocol)
}

func TestCrossSiteOriginsAreRefused(t *testing.T) {
	t.Parallel()
	url := newTestHandler(t, func(o *Options) { o.AllowedOrigins = []string{"https://app.example"} })
	for origin, ok := range map[string]bool{"https://app.example": true, "https://evil.example": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
			Subprotocols: []string{ProtocolTransportWS},
			HTTPHeader:   http.Header{"Origin": {origin}},
		})
		cancel()
		if ok {
			require.NoError(t, err, origin)
			c.CloseNow()
			continue
		}
		require.Error(t, err, origin)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, origin)
	}
}
