package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
)

// Subscription is an admitted subscription: from Subscribe to End it holds
// one of its principal's subscription slots, and every event it delivers is
// paid for from the caller's budget first.
type Subscription struct {
	p  *Pipeline
	c  *Caller
	op *engine.Operation

	mu      sync.Mutex
	release func()
	id      *resolve.SubscriptionIdentifier // started with Start
	ended   bool
}

// Subscribe takes one of the caller's subscription slots for an admitted
// subscription (RATE_LIMITED when they are all taken); Run or Start it, and
// End it.
func (p *Pipeline) Subscribe(c *Caller, op *engine.Operation) (*Subscription, error) {
	release, ok := p.live.subscription(c.Principal, c.ClientIP)
	if !ok {
		return nil, errTooManySubscriptions()
	}
	p.opts.Telemetry.Subscription(1)
	return &Subscription{p: p, c: c, op: op, release: release}, nil
}

// Run runs the subscription until the upstream completes, ctx ends, or an
// event cannot be paid for: then its RATE_LIMITED error is returned (and
// that event was not written). Updates, and heartbeats while idle, go to w.
// Run ends the subscription.
func (s *Subscription) Run(ctx context.Context, headers *auth.SubgraphHeaders, w resolve.SubscriptionResponseWriter) error {
	defer s.End()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	err := s.p.opts.Engine.Subscribe(ctx, s.op, engine.ExecOptions{
		Headers:        headers,
		InitialPayload: headers.InitialPayload,
		Heartbeat:      true,
	}, s.metered(ctx, w, func(rerr *engine.RequestError) { stop(rerr) }))
	var refused *engine.RequestError
	if errors.As(context.Cause(ctx), &refused) {
		return refused
	}
	return err
}

// Start starts the subscription without holding a goroutine for it (the
// resolver drives w from its own workers) under id. When an event cannot be
// paid for, refused is called with its error instead of the event being
// written; the caller then tells its client and calls End. ctx ending does
// not end the subscription: End does.
func (s *Subscription) Start(ctx context.Context, headers *auth.SubgraphHeaders, w resolve.SubscriptionResponseWriter, id resolve.SubscriptionIdentifier, refused func(*engine.RequestError)) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil
	}
	s.id = &id
	s.mu.Unlock()
	err := s.p.opts.Engine.SubscribeAsync(ctx, s.op, engine.ExecOptions{
		Headers:        headers,
		InitialPayload: headers.InitialPayload,
	}, s.metered(ctx, w, refused), id)
	if ctx.Err() != nil {
		// Ended while starting, maybe before the resolver knew the id: let
		// go again (the resolver ignores an unknown id).
		s.p.opts.Engine.Unsubscribe(id)
	}
	return err
}

// End ends the subscription (once): a started one is let go at the resolver,
// which closes its upstream trigger when it was the last subscriber, and the
// slot is given back.
func (s *Subscription) End() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	id := s.id
	s.mu.Unlock()
	if id != nil {
		s.p.opts.Engine.Unsubscribe(*id)
	}
	s.p.opts.Telemetry.Subscription(-1)
	s.release()
}

// metered wraps w so that each event is paid for before it is written.
func (s *Subscription) metered(ctx context.Context, w resolve.SubscriptionResponseWriter, refused func(*engine.RequestError)) resolve.SubscriptionResponseWriter {
	if s.p.opts.Limiter == nil {
		return w
	}
	return &meteredWriter{
		SubscriptionResponseWriter: w,
		charge:                     func() *engine.RequestError { return s.p.chargeEvent(ctx, s.c, s.op) },
		refused:                    refused,
	}
}

// meteredWriter holds an event until it is paid for: the resolver writes an
// event and flushes it, and only a paid event reaches the client's writer.
// After a refusal nothing more is written.
type meteredWriter struct {
	resolve.SubscriptionResponseWriter
	charge  func() *engine.RequestError
	refused func(*engine.RequestError)

	mu      sync.Mutex
	event   []byte
	stopped bool
}

func (m *meteredWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.event = append(m.event, p...)
	return len(p), nil
}

func (m *meteredWriter) Flush() error {
	m.mu.Lock()
	event := m.event
	m.event = nil
	stopped := m.stopped
	m.mu.Unlock()
	if stopped || len(event) == 0 {
		return nil
	}
	// Charged outside the lock: a lease refill may ask Redis.
	if rerr := m.charge(); rerr != nil {
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		m.refused(rerr)
		return nil
	}
	if _, err := m.SubscriptionResponseWriter.Write(event); err != nil {
		return err
	}
	return m.SubscriptionResponseWriter.Flush()
}
