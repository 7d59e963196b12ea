// Package ws serves GraphQL over WebSocket on the router's /graphql: the
// graphql-transport-ws protocol and the legacy graphql-ws (subscriptions-
// transport-ws) protocol, chosen by Sec-WebSocket-Protocol.
//
// The router owns the protocol state machine (rather than the engine's
// websocket handler) because it must keep per-connection identity, close with
// the protocols' codes, and cut a connection off when its token expires or is
// revoked.
//
// Its parts: ws.go the handler and its connection registry; upgrade.go the
// HTTP upgrade; conn.go a connection's reading (woken by the poller,
// poll_linux.go) and its write queue; protocol.go the protocol state machine;
// operation.go one operation and the resolver's writer for it. Identity,
// admission and execution are the pipeline's, as for every transport.
package ws

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"supergraph/router/internal/pipeline"
)

// Subprotocols.
const (
	ProtocolTransportWS = "graphql-transport-ws"
	ProtocolLegacyWS    = "graphql-ws"
)

// Close codes of graphql-transport-ws; the router uses them for both protocols.
const (
	CloseBadRequest          websocket.StatusCode = 4400
	CloseUnauthorized        websocket.StatusCode = 4401
	CloseForbidden           websocket.StatusCode = 4403
	CloseSubprotocol         websocket.StatusCode = 4406
	CloseInitTimeout         websocket.StatusCode = 4408
	CloseSubscriberExists    websocket.StatusCode = 4409
	CloseTooManyInitRequests websocket.StatusCode = 4429
	CloseInternalError       websocket.StatusCode = 4500
)

// maxSubscriptionsPerConn bounds one connection's concurrent operations.
const maxSubscriptionsPerConn = 100

// Options configure a Handler.
type Options struct {
	// Pipeline identifies callers and admits and runs their operations, as
	// for every other transport.
	Pipeline *pipeline.Pipeline
	// ClientIP tells the address an anonymous connection's budget is kept by.
	ClientIP func(*http.Request) string
	// Connections is told when connections open (+1) and close (-1)
	// (metrics); may be nil.
	Connections func(delta int)
	// AllowedOrigins are the cross-origin pages allowed to connect (same-origin
	// pages and non-browser clients always may).
	AllowedOrigins  []string
	InitTimeout     time.Duration
	KeepAlive       time.Duration
	MaxMessageBytes int64
	// MaxBufferedBytes bounds what may wait for one slow client (default 1 MiB);
	// WriteTimeout bounds one write to it (default 10s). A client over either
	// is disconnected: it must not hold up anyone else's updates.
	MaxBufferedBytes int
	WriteTimeout     time.Duration
	Logger           *slog.Logger
}

// Handler accepts and serves WebSocket connections.
type Handler struct {
	opts   Options
	poller poller // nil: every connection reads on a goroutine of its own
	mu     sync.Mutex
	conns  map[int64]*conn
	down   bool
}

// poller reports, once per arm, that a connection has input (poll_linux.go).
type poller interface {
	arm(c *conn) error
	close()
}

// NewHandler returns a Handler. Call Shutdown to release it.
func NewHandler(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBufferedBytes <= 0 {
		opts.MaxBufferedBytes = 1 << 20
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	h := &Handler{opts: opts, conns: make(map[int64]*conn)}
	p, err := newPoller(h.lookup)
	if err != nil {
		opts.Logger.Info("websocket readiness polling unavailable: one goroutine per connection", "err", err)
	} else {
		h.poller = p
	}
	return h
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return false
	}
	h.conns[c.id] = c
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c.id)
}

func (h *Handler) lookup(id int64) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[id]
}

// Shutdown closes every connection with 1001 Going Away and refuses new ones.
func (h *Handler) Shutdown() {
	h.mu.Lock()
	h.down = true
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.close(websocket.StatusGoingAway, "server shutting down") })
	}
	wg.Wait()
	if h.poller != nil {
		h.poller.close()
	}
}
