package pipeline

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"supergraph/platform/apperr"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/ratelimit"
)

// CostReport is extensions.cost.
type CostReport struct {
	Estimated int `json:"estimated"`
	Limit     int `json:"limit,omitempty"`
}

// Admit runs the checks every operation passes before it executes: the cost
// ceiling, the caller's deny-list read if still due (in the rate limit's
// Redis round trip when the two share a server), then the caller's budget.
// A revoked token fails with its auth error before anything else is decided.
// The decision (nil without rate limiting) feeds the RateLimit-* headers;
// other errors are *engine.RequestError.
func (p *Pipeline) Admit(ctx context.Context, c *Caller, op *engine.Operation) (*ratelimit.Decision, error) {
	if err := p.checkCost(op); err != nil {
		if derr := c.Settle(ctx); derr != nil {
			return nil, derr
		}
		return nil, err
	}
	if p.opts.Limiter == nil {
		if err := c.Settle(ctx); err != nil {
			return nil, err
		}
		p.opts.Telemetry.Cost(op.Cost)
		return nil, nil
	}
	var keys []string
	if c.deny != nil {
		keys = c.deny.Keys()
	}
	d, exists, err := p.opts.Limiter.AllowExists(ctx, c.Principal, c.ClientIP, op.Cost, keys)
	if derr := c.settle(ctx, exists); derr != nil {
		return nil, derr
	}
	const over = "this operation costs %d of a budget of %d per %s; retry in %d s"
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return &ratelimit.Decision{Limit: d.Limit, RetryAfter: time.Second}, p.refusal(d, err, op, over)
	case err != nil:
		return nil, err
	}
	if rerr := p.refusal(d, nil, op, over); rerr != nil {
		return &d, rerr
	}
	p.opts.Telemetry.Cost(op.Cost)
	return &d, nil
}

// refusal is the error a rate-limit outcome makes for the client, nil when
// the operation may run. over words the message over budget from the cost,
// the budget, the window and the seconds to wait.
func (p *Pipeline) refusal(d ratelimit.Decision, err error, op *engine.Operation, over string) *engine.RequestError {
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return engine.NewRequestError(http.StatusServiceUnavailable, apperr.CodeRateLimited, "cannot check the rate limit right now; retry shortly")
	case err != nil:
		return internalError()
	case !d.Allowed:
		p.opts.Telemetry.Rejected("rate_limited")
		rerr := engine.NewRequestError(http.StatusTooManyRequests, apperr.CodeRateLimited,
			"rate limit exceeded: "+over, max(op.Cost, 1), d.Limit, p.opts.RateLimitWindow, Seconds(d.RetryAfter))
		rerr.Errors[0].Extensions["cost"] = CostReport{Estimated: op.Cost}
		rerr.Errors[0].Extensions["retryAfter"] = Seconds(d.RetryAfter)
		return rerr
	}
	return nil
}

// chargeEvent spends one subscription event's cost from the caller's budget.
// A subscription pays its estimated cost when it starts and again for every
// event it delivers, since each event runs its selection again: it is as dear
// as the queries that would poll for the same data. The error (RATE_LIMITED,
// with retryAfter) ends the subscription; a client that resumes later from
// its last event (notificationAdded's after) misses nothing.
func (p *Pipeline) chargeEvent(ctx context.Context, c *Caller, op *engine.Operation) *engine.RequestError {
	if p.opts.Limiter == nil {
		return nil
	}
	d, err := p.opts.Limiter.Allow(ctx, c.Principal, c.ClientIP, op.Cost)
	if err != nil && !errors.Is(err, ratelimit.ErrUnavailable) && ctx.Err() == nil {
		p.opts.Logger.ErrorContext(ctx, "charge subscription event", "err", err)
	}
	return p.refusal(d, err, op, "each event of this subscription costs %d of a budget of %d per %s; subscribe again in %d s")
}

// checkCost estimates op's cost (planning it, or taking the cached plan) and
// refuses it over the ceiling. Nothing has reached a subgraph yet.
func (p *Pipeline) checkCost(op *engine.Operation) error {
	cost, err := p.opts.Engine.Estimate(op)
	if err != nil {
		return err
	}
	if p.opts.MaxCost > 0 && cost > p.opts.MaxCost {
		p.opts.Telemetry.Rejected("cost_limit")
		rerr := engine.NewRequestError(http.StatusBadRequest, apperr.CodeCostLimitExceeded,
			"the operation's estimated cost %d exceeds the limit of %d (ROUTER_MAX_COST): ask for fewer items (first) or fewer fields", cost, p.opts.MaxCost)
		rerr.Errors[0].Extensions["cost"] = CostReport{Estimated: cost, Limit: p.opts.MaxCost}
		return rerr
	}
	return nil
}

// Seconds rounds up: a client that waits the advertised time must succeed.
func Seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
