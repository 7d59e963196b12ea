// Package ws serves GraphQL over WebSocket on the router's /graphql: the
// graphql-transport-ws protocol and the legacy graphql-ws (subscriptions-
// transport-ws) protocol, chosen by Sec-WebSocket-Protocol.
//
// The router owns the protocol state machine (rather than the engine's
// websocket handler) because it must keep per-connection identity, close with
// the protocols' codes, and cut a connection off when its token expires or is
// revoked.
package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
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

// IsUpgrade reports whether r asks for a WebSocket.
func IsUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// originAllowed blocks cross-site WebSocket hijacking by browsers: the Origin,
// when there is one, must be this host or on the allow-list.
func (h *Handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(h.opts.AllowedOrigins, origin) || slices.Contains(h.opts.AllowedOrigins, "*") {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// ServeHTTP upgrades r and returns: the connection is served until it closes,
// then closed is called (nil: nothing to call). ServeHTTP reports whether it
// upgraded; if not, it answered the request and closed is not called.
//
// Returning frees everything net/http keeps for a request (its 4 KiB buffers,
// the request, the deep stack of its goroutine), and messages are read on
// short-lived goroutines when the poller says they have arrived: an idle
// subscriber costs a socket and a few small structs.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, requestID string, closed func()) bool {
	if !h.originAllowed(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return false
	}
	clientIP := ""
	if h.opts.ClientIP != nil {
		clientIP = h.opts.ClientIP(r)
	}
	releaseConn, ok := h.opts.Pipeline.AcquireConnection(clientIP)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"message":"too many open connections from your address","extensions":{"code":"RATE_LIMITED"}}]}`))
		return false
	}
	hj := &smallBuffers{ResponseWriter: w}
	c, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		Subprotocols:       []string{ProtocolTransportWS, ProtocolLegacyWS},
		InsecureSkipVerify: true, // checked above, against the CORS allow-list
	})
	if err != nil {
		releaseConn()
		return false // Accept has answered the request
	}
	c.SetReadLimit(h.opts.MaxMessageBytes)
	// Sec-WebSocket-Extensions is not negotiated: coder/websocket leaves
	// compression off unless asked, and per-connection deflate state would
	// cost far more memory than idle subscriptions save on the wire.
	proto := c.Subprotocol()
	if proto == "" {
		if r.Header.Get("Sec-WebSocket-Protocol") != "" {
			// Offered only protocols this server does not speak: say so, as
			// graphql-ws servers do, rather than guess.
			c.Close(CloseSubprotocol, "subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
			releaseConn()
			return false
		}
		// None offered: clients that name none get graphql-transport-ws.
		proto = ProtocolTransportWS
	}
	cn := &conn{
		h:           h,
		ws:          c,
		legacy:      proto == ProtocolLegacyWS,
		requestID:   requestID,
		upgradeAuth: r.Header.Get("Authorization"),
		clientIP:    clientIP,
		traceparent: r.Header.Get("Traceparent"),
		tracestate:  r.Header.Get("Tracestate"),
		ops:         make(map[string]*operation),
		id:          resolve.ConnectionIDs.Inc(),
		br:          hj.br,
		closed:      closed,
		release:     releaseConn,
	}
	if sc, ok := hj.netConn.(syscall.Conn); ok {
		cn.raw, _ = sc.SyscallConn()
	}
	if f := h.opts.Connections; f != nil {
		f(1)
	}
	cn.start()
	if !h.track(cn) {
		cn.close(websocket.StatusGoingAway, "server shutting down")
		return true
	}
	cn.reading.Lock()
	if hj.pending {
		// The client sent more right behind its upgrade request (say its
		// connection_init): it is already read from the socket, where no
		// poller would report it.
		go cn.onReadable()
	} else {
		cn.await()
	}
	cn.reading.Unlock()
	return true
}

// wsBufferSize is each connection's read and write buffer. net/http hands a
// hijacked connection its 4 KiB buffers; most GraphQL messages are far
// smaller and an idle subscriber needs none, so 10,000 subscribers keep
// 70 MiB less. Larger messages simply take more system calls.
const wsBufferSize = 512

// smallBuffers hijacks with wsBufferSize buffers instead of net/http's, and
// keeps the connection and its reader for the poller.
type smallBuffers struct {
	http.ResponseWriter
	netConn net.Conn
	br      *bufio.Reader
	pending bool // bytes past the request were read with it
}

func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Whatever the client sent ahead of the 101 is already buffered: carry it
	// over, buffered again, so the WebSocket library finds it there.
	pending, _ := brw.Reader.Peek(brw.Reader.Buffered())
	pending = append([]byte(nil), pending...)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), conn), max(wsBufferSize, len(pending)))
	if len(pending) > 0 {
		if _, err := br.Peek(len(pending)); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	s.netConn, s.br, s.pending = conn, br, len(pending) > 0
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsBufferSize)), nil
}

func (s *smallBuffers) Unwrap() http.ResponseWriter { return s.ResponseWriter }

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

// message is a protocol message in either protocol.
type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type subscribePayload struct {
	Query         *string         `json:"query"`
	OperationName *string         `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// conn is one client connection.
type conn struct {
	h           *Handler
	ws          *websocket.Conn
	legacy      bool
	requestID   string
	upgradeAuth string
	clientIP    string
	traceparent string
	tracestate  string

	ctx    context.Context // ends when the connection ends (or its token dies)
	cancel context.CancelFunc
	caller *pipeline.Caller // who signed in with connection_init
	// id identifies the connection to the poller and its subscriptions to
	// the resolver.
	id int64
	// wg tracks queries and mutations in flight; subscriptions hold no
	// goroutine of their own (the resolver drives them).
	wg sync.WaitGroup
	// stopWatch releases the token watch; pinger sends keep-alives;
	// initTimer enforces the init timeout. None holds a goroutine while idle.
	stopWatch context.CancelFunc
	pinger    *time.Timer
	initTimer *time.Timer
	closed    func()
	release   func() // gives the client address's connection slot back
	ended     sync.Once

	// Reading: raw and br are the socket and its buffered reader, polled
	// for input; reading holds the (one) goroutine reading at a time, and
	// orders what one reader did before the next.
	raw     syscall.RawConn
	br      *bufio.Reader
	polled  bool
	reading sync.Mutex

	mu        sync.Mutex
	initiated bool
	acked     bool
	closing   bool
	ops       map[string]*operation
	seq       int

	// Writing: messages wait in out for the connection's writer (a goroutine
	// that exists while there is something to write), so that whoever sends
	// them, the resolver above all, never waits on the client's socket.
	outMu    sync.Mutex
	out      []outgoing
	outBytes int
	writing  bool
}

// outgoing is a message for the client, or (close set) the closing handshake.
type outgoing struct {
	data  []byte
	close *closeFrame
}

type closeFrame struct {
	code   websocket.StatusCode
	reason string
	done   chan struct{} // closed once the handshake is over (or abandoned)
}

// start sets the connection up; then its first message is awaited.
func (c *conn) start() {
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.initTimer = time.AfterFunc(c.h.opts.InitTimeout, func() {
		c.mu.Lock()
		done := c.initiated
		c.mu.Unlock()
		if !done {
			c.close(CloseInitTimeout, "Connection initialisation timeout")
		}
	})
}

// await has the next input read when it arrives: reported by the poller, or
// without one on a goroutine waiting for it. The caller holds c.reading: the
// reader woken next waits until the one arming has finished.
func (c *conn) await() {
	if c.h.poller == nil {
		go c.onReadable()
		return
	}
	if err := c.h.poller.arm(c); err != nil {
		c.end() // the socket is gone
	}
}

// onReadable reads and handles messages while they are buffered, then awaits
// more. A message split over several packets is waited for here; so is the
// next data message after a WebSocket-level ping, which the library answers
// inside Read.
func (c *conn) onReadable() {
	c.reading.Lock()
	defer c.reading.Unlock()
	for {
		if !c.readOne() {
			c.end()
			return
		}
		if c.h.poller != nil && !c.buffered() {
			break
		}
	}
	c.await()
}

// buffered reports whether input is waiting in the reader (no poller would
// report it). Not once the connection is closing: its closing handshake reads
// on, on its own goroutine, and close marks it under c.mu before it starts.
func (c *conn) buffered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closing && c.br.Buffered() > 0
}

// readOne reads and handles one message; false ends the connection.
func (c *conn) readOne() bool {
	// No context: one with a deadline or cancellation would cost a timer per
	// idle connection; closing the connection ends the read.
	typ, data, err := c.ws.Read(context.Background())
	if err != nil {
		return false
	}
	if typ != websocket.MessageText {
		c.close(CloseBadRequest, "Binary messages are not supported")
		return false
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
		c.close(CloseBadRequest, "Invalid message received")
		return false
	}
	return c.handle(m)
}

// end releases the connection once: its operations end (running ones are
// cancelled, subscriptions let go at the resolver), the socket closes, and
// closed is called when the last operation has returned.
func (c *conn) end() {
	c.ended.Do(func() {
		c.release()
		c.cancel()
		c.initTimer.Stop()
		if c.pinger != nil {
			c.pinger.Stop()
		}
		if c.stopWatch != nil {
			c.stopWatch()
		}
		c.mu.Lock()
		ops := make([]*operation, 0, len(c.ops))
		for _, o := range c.ops {
			ops = append(ops, o)
		}
		c.mu.Unlock()
		for _, o := range ops {
			o.end()
		}
		c.ws.CloseNow()
		c.h.untrack(c)
		// end may run on an operation's goroutine (a failed keep-alive, say):
		// wait for them elsewhere.
		go func() {
			c.wg.Wait()
			if f := c.h.opts.Connections; f != nil {
				f(-1)
			}
			if c.closed != nil {
				c.closed()
			}
		}()
	})
}

// handle processes one message; false ends the connection.
func (c *conn) handle(m message) bool {
	switch m.Type {
	case "connection_init":
		return c.onInit(m)
	case "ping":
		if !c.legacy {
			c.send(message{Type: "pong", Payload: m.Payload})
		}
		return true
	case "pong":
		return true
	case "subscribe", "start":
		if (m.Type == "start") != c.legacy {
			c.close(CloseBadRequest, fmt.Sprintf("Invalid message type %q for %s", m.Type, c.protocol()))
			return false
		}
		return c.onSubscribe(m)
	case "complete", "stop":
		if (m.Type == "stop") != c.legacy {
			c.close(CloseBadRequest, fmt.Sprintf("Invalid message type %q for %s", m.Type, c.protocol()))
			return false
		}
		c.onComplete(m.ID)
		return true
	case "connection_terminate":
		if c.legacy {
			c.close(websocket.StatusNormalClosure, "")
			return false
		}
	}
	c.close(CloseBadRequest, fmt.Sprintf("Invalid message type %q", m.Type))
	return false
}

func (c *conn) protocol() string {
	if c.legacy {
		return ProtocolLegacyWS
	}
	return ProtocolTransportWS
}

func (c *conn) onInit(m message) bool {
	c.mu.Lock()
	again := c.initiated
	c.initiated = true
	c.mu.Unlock()
	if again {
		c.close(CloseTooManyInitRequests, "Too many initialisation requests")
		return false
	}
	authz := c.upgradeAuth
	if len(m.Payload) > 0 && string(m.Payload) != "null" {
		var p map[string]any
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			c.close(CloseBadRequest, "connection_init payload must be an object")
			return false
		}
		for k, v := range p {
			// Clients spell it Authorization, authorization, or as a nested headers
			// object; a string under either first spelling is the token.
			if s, ok := v.(string); ok && strings.EqualFold(k, "authorization") {
				authz = s
			}
		}
	}
	caller, err := c.h.opts.Pipeline.Identify(c.ctx, authz, c.clientIP)
	if err == nil {
		// A connection lives long: its token is checked in full now, then watched.
		err = caller.Settle(c.ctx)
	}
	if err != nil {
		reason := "Forbidden: invalid access token"
		switch {
		case errors.Is(err, auth.ErrExpiredToken):
			reason = "Forbidden: access token expired"
		case errors.Is(err, auth.ErrRevokedToken):
			reason = "Forbidden: access token revoked"
		case errors.Is(err, auth.ErrUnavailable):
			reason = "Forbidden: cannot verify the access token right now"
		}
		if c.legacy {
			payload, _ := json.Marshal(map[string]string{"message": reason})
			c.send(message{Type: "connection_error", Payload: payload})
		}
		c.close(CloseForbidden, reason)
		return false
	}
	c.caller = caller
	// From now on operations run under a context that ends with the token.
	watched, cancel := c.h.opts.Pipeline.Watch(c.ctx, caller)
	c.ctx, c.stopWatch = watched, cancel
	context.AfterFunc(watched, func() {
		switch cause := context.Cause(watched); {
		case errors.Is(cause, auth.ErrExpiredToken):
			c.close(CloseForbidden, "Forbidden: access token expired")
		case errors.Is(cause, auth.ErrRevokedToken):
			c.close(CloseForbidden, "Forbidden: access token revoked")
		}
	})
	c.mu.Lock()
	c.acked = true
	c.mu.Unlock()
	c.send(message{Type: "connection_ack"})
	// Created stopped and then armed, so keepAlive never sees a nil timer.
	c.pinger = time.AfterFunc(time.Hour, c.keepAlive)
	c.pinger.Stop()
	c.pinger.Reset(c.h.opts.KeepAlive)
	return true
}

// keepAlive sends one ping (ka in the legacy protocol) and re-arms its timer.
func (c *conn) keepAlive() {
	if c.ctx.Err() != nil {
		return
	}
	ka := message{Type: "ping"}
	if c.legacy {
		ka = message{Type: "ka"}
	}
	if err := c.send(ka); err != nil {
		c.end() // the peer is gone without a word
		return
	}
	c.pinger.Reset(c.h.opts.KeepAlive)
}

func (c *conn) onSubscribe(m message) bool {
	c.mu.Lock()
	acked := c.acked
	_, exists := c.ops[m.ID]
	n := len(c.ops)
	c.mu.Unlock()
	switch {
	case !acked:
		c.close(CloseUnauthorized, "Unauthorized")
		return false
	case m.ID == "":
		c.close(CloseBadRequest, "Subscribe message needs an id")
		return false
	case exists:
		c.close(CloseSubscriberExists, fmt.Sprintf("Subscriber for %s already exists", m.ID))
		return false
	}
	if rerr := engine.CheckJSON(m.Payload); rerr != nil {
		c.sendErrors(m.ID, rerr.Errors)
		return true
	}
	var p subscribePayload
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Query == nil {
		c.close(CloseBadRequest, "Invalid subscribe payload")
		return false
	}
	if n >= maxSubscriptionsPerConn {
		c.sendErrors(m.ID, engine.NewRequestError(http.StatusTooManyRequests, apperr.CodeRateLimited,
			"too many operations on one connection (at most %d)", maxSubscriptionsPerConn).Errors)
		return true
	}
	req := engine.Request{Query: *p.Query, Variables: p.Variables}
	if p.OperationName != nil {
		req.OperationName = *p.OperationName
	}
	pipe := c.h.opts.Pipeline
	op, err := pipe.Prepare(req)
	if err == nil {
		_, err = pipe.Admit(c.ctx, c.caller, op)
	}
	if err != nil {
		if !errors.As(err, new(*engine.RequestError)) && c.ctx.Err() == nil {
			c.h.opts.Logger.Error("admit operation", "err", err, "request_id", c.requestID)
		}
		c.sendErrors(m.ID, pipeline.AsRequestError(err).Errors)
		return true
	}

	ctx, cancel := context.WithCancel(c.ctx)
	o := &operation{c: c, id: m.ID, ctx: ctx, cancel: cancel, subscribed: op.Type == engine.Subscription}
	c.mu.Lock()
	c.seq++
	seq := c.seq
	o.sub = resolve.SubscriptionIdentifier{ConnectionID: c.id, SubscriptionID: int64(seq)}
	c.ops[m.ID] = o
	rid := fmt.Sprintf("%s.%d", c.requestID, seq)
	c.mu.Unlock()

	headers := pipe.Headers(c.caller, rid, c.traceparent, c.tracestate)
	if op.Type != engine.Subscription {
		c.wg.Go(func() {
			defer cancel()
			defer c.forget(o)
			o.runSingle(ctx, op, headers)
		})
		return true
	}

	sub, err := pipe.Subscribe(c.caller, op)
	if err != nil {
		o.subscribed = false // never started: nothing to let go
		o.fail(pipeline.AsRequestError(err).Errors)
		o.end()
		return true
	}
	o.mu.Lock()
	o.subscription = sub
	o.mu.Unlock()
	refused := func(rerr *engine.RequestError) {
		o.fail(rerr.Errors)
		o.end()
	}
	if err := sub.Start(ctx, headers, o, o.sub, refused); err != nil && ctx.Err() == nil {
		c.h.opts.Logger.Error("subscription", "err", err, "request_id", rid)
		o.fail(pipeline.AsRequestError(err).Errors)
		o.end()
	}
	return true
}

func (c *conn) onComplete(id string) {
	c.mu.Lock()
	o := c.ops[id]
	// The id is free again at once (the protocol lets clients reuse it); the
	// operation's goroutine winds down on its own.
	delete(c.ops, id)
	c.mu.Unlock()
	if o != nil {
		o.mu.Lock()
		o.done = true // the client ended it: no complete goes back
		o.mu.Unlock()
		o.end()
	}
}

func (c *conn) forget(o *operation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops[o.id] == o {
		delete(c.ops, o.id)
	}
}

// sendErrors ends operation id with request errors.
func (c *conn) sendErrors(id string, errs []engine.Error) {
	if c.legacy {
		// subscriptions-transport-ws reports validation failures as a data
		// message carrying errors, then completes.
		payload, _ := json.Marshal(map[string]any{"errors": errs})
		c.send(message{ID: id, Type: "data", Payload: payload})
		c.send(message{ID: id, Type: "complete"})
		return
	}
	payload, _ := json.Marshal(errs)
	c.send(message{ID: id, Type: "error", Payload: payload})
}

// errTooSlow refuses a message for a client that lets too much pile up.
var errTooSlow = errors.New("the client does not read its messages")

// send queues m for the client and returns at once. A client with more than
// MaxBufferedBytes waiting (a single larger message still goes out) is
// disconnected at once, without a closing handshake: it is not reading, so
// it could not read one either.
func (c *conn) send(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.outMu.Lock()
	if len(c.out) > 0 && c.outBytes+len(b) > c.h.opts.MaxBufferedBytes {
		c.outMu.Unlock()
		c.h.opts.Logger.Info("websocket client too slow: disconnected", "request_id", c.requestID, "buffered_bytes", c.outBytes)
		go c.end()
		return errTooSlow
	}
	c.push(outgoing{data: b})
	c.outBytes += len(b)
	c.outMu.Unlock()
	return nil
}

// push appends to the queue and starts the writer if none runs; c.outMu is held.
func (c *conn) push(o outgoing) {
	c.out = append(c.out, o)
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write sends the queue in order until it is empty. A write that fails or
// takes longer than WriteTimeout ends the connection; what was left unsent is
// dropped.
func (c *conn) write() {
	for {
		c.outMu.Lock()
		if len(c.out) == 0 {
			c.out, c.writing = nil, false
			c.outMu.Unlock()
			return
		}
		o := c.out[0]
		c.out[0] = outgoing{}
		c.out = c.out[1:]
		c.outBytes -= len(o.data)
		c.outMu.Unlock()

		if o.close != nil {
			_ = c.ws.Close(o.close.code, o.close.reason)
			close(o.close.done)
			c.end()
			continue // whatever follows fails fast and is dropped
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.h.opts.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, o.data)
		cancel()
		if err != nil {
			c.end()
			c.outMu.Lock()
			for _, rest := range c.out {
				if rest.close != nil {
					close(rest.close.done)
				}
			}
			c.out, c.outBytes, c.writing = nil, 0, false
			c.outMu.Unlock()
			return
		}
	}
}

// close closes the connection once with code and reason, after the messages
// already queued (and the closing handshake, or its timeout), and ends it.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.mu.Unlock()
	f := &closeFrame{code: code, reason: reason, done: make(chan struct{})}
	c.outMu.Lock()
	c.push(outgoing{close: f})
	c.outMu.Unlock()
	<-f.done
}

// operation is one running operation; it is the resolver's subscription writer.
type operation struct {
	c      *conn
	id     string
	ctx    context.Context
	cancel context.CancelFunc
	// subscribed: a subscription, known to the resolver as sub.
	subscribed bool
	sub        resolve.SubscriptionIdentifier
	ended      sync.Once

	mu   sync.Mutex
	buf  []byte
	done bool
	// subscription is the pipeline's hold on a subscription (nil until it
	// starts, and for queries and mutations).
	subscription *pipeline.Subscription
}

// end ends the operation once, whatever ended it (the client's complete, the
// connection ending, the upstream completing, a failed start): its context
// is cancelled and a subscription is let go at the resolver, which frees its
// upstream trigger when it was the last. (A token dying cancels the context
// first and then closes the connection, which ends here.)
func (o *operation) end() {
	o.ended.Do(func() {
		o.cancel()
		o.c.forget(o)
		o.mu.Lock()
		sub := o.subscription
		o.mu.Unlock()
		if sub != nil {
			sub.End()
		}
	})
}

var _ resolve.SubscriptionResponseWriter = (*operation)(nil)

func (o *operation) runSingle(ctx context.Context, op *engine.Operation, headers *auth.SubgraphHeaders) {
	var buf writeBuffer
	err := o.c.h.opts.Pipeline.Execute(ctx, o.c.caller, op, headers, &buf)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		o.fail(pipeline.AsRequestError(err).Errors)
		return
	}
	_, _ = o.Write(buf)
	_ = o.Flush()
	o.Complete()
}

type writeBuffer []byte

func (b *writeBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

func (o *operation) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// Flush sends the buffered result as one next (data) message.
func (o *operation) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) == 0 || o.done || o.ctx.Err() != nil {
		o.buf = o.buf[:0]
		return nil
	}
	typ := "next"
	if o.c.legacy {
		typ = "data"
	}
	payload := json.RawMessage(append([]byte(nil), o.buf...))
	o.buf = o.buf[:0]
	return o.c.send(message{ID: o.id, Type: typ, Payload: payload})
}

// Complete tells the client the operation is over (once, unless it ended it).
// For a subscription it is the resolver saying the upstream completed.
func (o *operation) Complete() {
	o.mu.Lock()
	if !o.done {
		o.done = true
		_ = o.c.send(message{ID: o.id, Type: "complete"})
	}
	o.mu.Unlock()
	if o.subscribed {
		o.end()
	}
}

func (o *operation) fail(errs []engine.Error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return
	}
	o.done = true
	o.c.sendErrors(o.id, errs)
}

// Heartbeat is not used: the connection pings on its own.
func (o *operation) Heartbeat() error { return nil }

// Close is the resolver ending the subscription without an upstream complete:
// the upstream failed or went away, the router is shutting down, or the
// operation's own context ended (then the client is told nothing: it ended
// the operation itself, or the connection is gone).
func (o *operation) Close(kind resolve.SubscriptionCloseKind) {
	if o.ctx.Err() != nil {
		return
	}
	if kind == resolve.SubscriptionCloseKindDownstreamServiceError {
		o.fail(engine.NewRequestError(http.StatusBadGateway, apperr.CodeSubgraphUnavailable, "the subgraph ended the subscription unexpectedly").Errors)
	}
	o.Complete()
}

var _ io.Writer = (*writeBuffer)(nil)
