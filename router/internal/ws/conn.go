package ws

// A connection: reading when the poller says input arrived, and writing
// from a queue of its own so that nobody waits on a slow client.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"supergraph/router/internal/pipeline"
)

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

// errTooSlow refuses a message for a client that lets too much pile up.
var errTooSlow = errors.New("the client does not read its messages")

// send queues m for the client and returns at once. A client with more than
// MaxBufferedBytes waiting (a single larger message still goes out) is
// disconnected at once, without a closing handshake: it is not reading, so
// it could not read one either.
//
// send reports its own failures: the slow client's disconnection, and a
// message that cannot be encoded (a payload that is not JSON: a bug, never
// the client's doing), which is logged and not sent. The error only tells the
// caller that m did not go out.
func (c *conn) send(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		c.h.opts.Logger.Error("websocket message not sent: cannot encode it", "request_id", c.requestID, "type", m.Type, "id", m.ID, "err", err)
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
