// Package pipeline is the one way an operation goes through the router,
// whatever its transport (HTTP POST and GET, batches, Server-Sent Events,
// WebSocket):
//
//	Identify → Prepare → Admit → Execute (queries, mutations)
//	                           ↘ Subscribe / SubscribeAsync (subscriptions)
//
// Identify turns an Authorization value into a Caller. Admit checks a
// prepared operation against the cost ceiling, the caller's deny-list entry
// and its rate-limit budget. Execute runs a query or mutation and applies a
// mutation's after-effects; the subscribe steps hold one of the principal's
// subscription slots and charge every event. Transports only read requests
// and write answers in their own framing.
package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/ratelimit"
	"supergraph/router/internal/telemetry"
)

// Options configure a Pipeline.
type Options struct {
	Engine     *engine.Engine
	Verifier   *auth.Verifier
	Assertions *auth.Assertions
	// Limiter spends operations' cost from budgets; nil turns rate limiting off.
	Limiter   *ratelimit.Limiter
	Telemetry *telemetry.Telemetry
	Logger    *slog.Logger
	// MaxCost refuses operations estimated above it (0: no ceiling).
	MaxCost int
	// RateLimitWindow is the budgets' window (for messages).
	RateLimitWindow time.Duration
	// RevocationCheckInterval is how often a long-lived caller's token is
	// checked against the deny-list (announced revocations apply at once).
	RevocationCheckInterval time.Duration
	// MaxConnectionsPerIP and MaxSubscriptionsPerPrincipal bound what
	// long-lived clients hold open (0: no bound); IPv6Prefix is how much of
	// an IPv6 address names a client, as for budgets.
	MaxConnectionsPerIP          int
	MaxSubscriptionsPerPrincipal int
	IPv6Prefix                   int
}

// Pipeline admits and runs operations.
type Pipeline struct {
	opts Options
	live *liveLimits
}

// New returns a Pipeline.
func New(opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{
		opts: opts,
		live: newLiveLimits(opts.MaxConnectionsPerIP, opts.MaxSubscriptionsPerPrincipal, opts.IPv6Prefix),
	}
}

// Caller is who sends operations: one HTTP request, or one WebSocket
// connection for as long as it lives.
type Caller struct {
	Principal identity.Principal
	// ClientIP keeps an anonymous caller's budget and slots.
	ClientIP string
	// Authorization is the value the caller signed in with; a mutation makes
	// its token read the deny-list again on its next use.
	Authorization string
	// deny is a remembered token's deny-list read, left for Admit to make in
	// the rate limit's Redis round trip; Settle makes it on its own.
	deny *auth.DenyCheck
}

// Identify returns the caller behind an Authorization value: anonymous
// without one, an auth error (see IsAuthError) for anything but a valid,
// live token. A remembered token's deny-list read may be left to Admit or
// Settle, which must come before anything else is answered.
func (p *Pipeline) Identify(ctx context.Context, authorization, clientIP string) (*Caller, error) {
	c := &Caller{ClientIP: clientIP, Authorization: authorization}
	token, present := auth.BearerToken(authorization)
	if !present {
		return c, nil
	}
	var err error
	c.Principal, c.deny, err = p.opts.Verifier.VerifyDeferred(ctx, token)
	return c, err
}

// Settle makes the caller's deny-list read if it is still due: a revoked
// token fails here, before the caller is told anything else.
func (c *Caller) Settle(ctx context.Context) error {
	return c.settle(ctx, nil)
}

// settle makes the due deny-list read, or takes its outcome from the rate
// limit's round trip (exists not nil).
func (c *Caller) settle(ctx context.Context, exists *ratelimit.Exists) error {
	d := c.deny
	if d == nil {
		return nil
	}
	c.deny = nil
	if exists != nil {
		return d.Resolve(ctx, exists.N, exists.Err)
	}
	return d.Run(ctx)
}

// IsAuthError reports whether err is about the caller's token (answered 401,
// or 503 when the token cannot be checked).
func IsAuthError(err error) bool {
	return err != nil && (errors.Is(err, auth.ErrRevokedToken) || errors.Is(err, auth.ErrUnavailable) ||
		errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrExpiredToken))
}

// TokenProblem says what is wrong with a caller's token (an auth error), in
// the words every transport tells its client.
func TokenProblem(err error) string {
	switch {
	case errors.Is(err, auth.ErrExpiredToken):
		return "access token expired"
	case errors.Is(err, auth.ErrRevokedToken):
		return "access token revoked"
	case errors.Is(err, auth.ErrUnavailable):
		return "cannot verify the access token right now"
	}
	return "invalid access token"
}

// Watch returns a context that ends, with auth.ErrExpiredToken or
// auth.ErrRevokedToken as its cause, when the caller's token dies.
func (p *Pipeline) Watch(ctx context.Context, c *Caller) (context.Context, context.CancelFunc) {
	return p.opts.Verifier.Watch(ctx, c.Principal, p.opts.RevocationCheckInterval)
}

// Prepare parses, validates and normalizes a request (engine.Prepare).
func (p *Pipeline) Prepare(req engine.Request) (*engine.Operation, error) {
	return p.opts.Engine.Prepare(req)
}

// Headers builds the subgraph headers of one operation of the caller's.
func (p *Pipeline) Headers(c *Caller, requestID, traceparent, tracestate string) *auth.SubgraphHeaders {
	return auth.NewSubgraphHeaders(p.opts.Assertions, c.Principal, requestID, traceparent, tracestate, p.opts.Logger)
}

// Execute runs an admitted query or mutation and writes its response JSON to
// w. A mutation may have revoked the caller's token (a logout): the token
// reads the deny-list on its next use, whatever the check interval.
func (p *Pipeline) Execute(ctx context.Context, c *Caller, op *engine.Operation, headers *auth.SubgraphHeaders, w io.Writer) error {
	err := p.opts.Engine.Execute(ctx, op, engine.ExecOptions{Headers: headers}, w)
	if op.Type == engine.Mutation {
		p.Recheck(c.Authorization)
	}
	return err
}

// Recheck makes the token in an Authorization value read the deny-list on its
// next use.
func (p *Pipeline) Recheck(authorization string) {
	if token, present := auth.BearerToken(authorization); present && token != "" {
		p.opts.Verifier.Recheck(token)
	}
}

// AcquireConnection takes one of a client address's long-lived connection
// slots; release gives it back. ok false: they are all taken.
func (p *Pipeline) AcquireConnection(clientIP string) (release func(), ok bool) {
	return p.live.connection(clientIP)
}

// errTooManySubscriptions refuses a subscription over its principal's slots.
func errTooManySubscriptions() *engine.RequestError {
	return engine.NewRequestError(http.StatusTooManyRequests, apperr.CodeRateLimited, "too many subscriptions open: end one first")
}

// internalError is what a caller is told of a failure that is ours.
func internalError() *engine.RequestError {
	return engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
}

// AsRequestError is err as the request error a client is told: its own when it
// is one, else an internal error.
func AsRequestError(err error) *engine.RequestError {
	var rerr *engine.RequestError
	if errors.As(err, &rerr) {
		return rerr
	}
	return internalError()
}
