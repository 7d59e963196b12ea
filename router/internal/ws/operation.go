package ws

// An operation: one subscribe message's query, mutation or subscription,
// and the resolver's writer for its results.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/pipeline"
)

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
