package ws

// The upgrade: a GET asking for a WebSocket becomes a connection, with
// small buffers, and net/http lets go of everything it kept for the request.

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"

	"github.com/coder/websocket"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"
)

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
			// The socket is closed whether or not the client completes the
			// closing handshake, so its failure changes nothing.
			_ = c.Close(CloseSubprotocol, "subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
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
	r := brw.Reader
	pending, _ := r.Peek(r.Buffered())
	pending = append([]byte(nil), pending...)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), conn), max(wsBufferSize, len(pending)))
	if len(pending) > 0 {
		if _, err := br.Peek(len(pending)); err != nil {
			_ = conn.Close() // given up: the Peek error is the one to report
			return nil, nil, err
		}
	}
	s.netConn, s.br, s.pending = conn, br, len(pending) > 0
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsBufferSize)), nil
}

func (s *smallBuffers) Unwrap() http.ResponseWriter { return s.ResponseWriter }
