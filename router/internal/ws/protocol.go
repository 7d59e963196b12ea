package ws

// The protocol state machine: connection_init, subscribe and complete (start
// and stop in the legacy protocol), ping and pong, and the close codes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/pipeline"
)

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

// handle processes one message; false ends the connection.
func (c *conn) handle(m message) bool {
	switch m.Type {
	case "connection_init":
		return c.onInit(m)
	case "ping":
		if !c.legacy {
			// Unanswered, the client would take the connection for dead: a
			// failed send (reported by send) ends it.
			return c.send(message{Type: "pong", Payload: m.Payload}) == nil
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
		reason := "Forbidden: " + pipeline.TokenProblem(err)
		if c.legacy {
			payload, _ := json.Marshal(map[string]string{"message": reason})
			// The connection closes next whether this goes out or not; send
			// reports its own failure.
			_ = c.send(message{Type: "connection_error", Payload: payload})
		}
		c.close(CloseForbidden, reason)
		return false
	}
	c.caller = caller
	// From now on operations run under a context that ends with the token.
	watched, cancel := c.h.opts.Pipeline.Watch(c.ctx, caller)
	c.ctx, c.stopWatch = watched, cancel
	context.AfterFunc(watched, func() {
		if cause := context.Cause(watched); pipeline.IsAuthError(cause) {
			c.close(CloseForbidden, "Forbidden: "+pipeline.TokenProblem(cause))
		}
	})
	c.mu.Lock()
	c.acked = true
	c.mu.Unlock()
	if c.send(message{Type: "connection_ack"}) != nil {
		// Without its ack the client can do nothing here: end the connection
		// (send has reported why) before a keep-alive is armed for it.
		return false
	}
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
		// message carrying errors, then completes. A failed send has been
		// reported by send (a client that does not read is being
		// disconnected): nothing is left to do here.
		payload, _ := json.Marshal(map[string]any{"errors": errs})
		if c.send(message{ID: id, Type: "data", Payload: payload}) == nil {
			_ = c.send(message{ID: id, Type: "complete"})
		}
		return
	}
	payload, _ := json.Marshal(errs)
	_ = c.send(message{ID: id, Type: "error", Payload: payload})
}
