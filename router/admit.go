package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/ratelimit"
)

// CostHeader asks for the operation's estimated cost in the response's
// extensions.cost (any value but "", "0" and "false"). ROUTER_EXPOSE_COST
// reports it on every response.
const CostHeader = "X-Include-Cost"

// costReport is extensions.cost.
type costReport struct {
	Estimated int `json:"estimated"`
	Limit     int `json:"limit,omitempty"`
}

// admit runs the checks every operation passes before it executes, whatever
// the transport: the cost ceiling, then the principal's cost budget. The
// decision (nil without rate limiting) feeds the RateLimit-* headers; errors
// are *engine.RequestError (or the context's).
//
// deny, when not nil, is the principal's deny-list read authentication left
// for later: it is made here, in the rate limit's Redis round trip when the
// two share a server, and a revoked token fails with its auth error before
// anything else is decided or executed.
func (r *Router) admit(ctx context.Context, op *engine.Operation, p identity.Principal, clientIP string, deny *auth.DenyCheck) (*ratelimit.Decision, error) {
	if err := r.checkCost(op); err != nil {
		if deny != nil {
			if derr := deny.Run(ctx); derr != nil {
				return nil, derr
			}
		}
		return nil, err
	}
	if r.limiter == nil {
		if deny != nil {
			if err := deny.Run(ctx); err != nil {
				return nil, err
			}
		}
		r.tel.Cost(op.Cost)
		return nil, nil
	}
	var keys []string
	if deny != nil {
		keys = deny.Keys()
	}
	d, exists, err := r.limiter.AllowExists(ctx, p, clientIP, op.Cost, keys)
	if deny != nil {
		var derr error
		if exists != nil {
			derr = deny.Resolve(ctx, exists.N, exists.Err)
		} else {
			derr = deny.Run(ctx)
		}
		if derr != nil {
			return nil, derr
		}
	}
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		rerr := engine.NewRequestError(http.StatusServiceUnavailable, apperr.CodeRateLimited, "cannot check the rate limit right now; retry shortly")
		return &ratelimit.Decision{Limit: d.Limit, RetryAfter: time.Second}, rerr
	case err != nil:
		return nil, err
	case !d.Allowed:
		r.tel.Rejected("rate_limited")
		rerr := engine.NewRequestError(http.StatusTooManyRequests, apperr.CodeRateLimited,
			"rate limit exceeded: this operation costs %d of a budget of %d per %s; retry in %d s",
			max(op.Cost, 1), d.Limit, r.cfg.RateLimitWindow, seconds(d.RetryAfter))
		rerr.Errors[0].Extensions["cost"] = costReport{Estimated: op.Cost}
		rerr.Errors[0].Extensions["retryAfter"] = seconds(d.RetryAfter)
		return &d, rerr
	}
	r.tel.Cost(op.Cost)
	return &d, nil
}

// chargeEvent spends one subscription event's cost from the principal's
// budget. A subscription pays its estimated cost when it starts and again for
// every event it delivers, since each event runs its selection again: a
// subscription is as dear as the queries that would poll for the same data.
// The error (RATE_LIMITED, with retryAfter) ends the subscription; a client
// that resumes later from its last event (notificationAdded's after) misses
// nothing.
func (r *Router) chargeEvent(ctx context.Context, p identity.Principal, clientIP string, op *engine.Operation) *engine.RequestError {
	if r.limiter == nil {
		return nil
	}
	d, err := r.limiter.Allow(ctx, p, clientIP, op.Cost)
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return engine.NewRequestError(http.StatusServiceUnavailable, apperr.CodeRateLimited, "cannot check the rate limit right now; subscribe again shortly")
	case err != nil:
		if ctx.Err() == nil {
			r.log.ErrorContext(ctx, "charge subscription event", "err", err)
		}
		return engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
	case !d.Allowed:
		r.tel.Rejected("rate_limited")
		rerr := engine.NewRequestError(http.StatusTooManyRequests, apperr.CodeRateLimited,
			"rate limit exceeded: each event of this subscription costs %d of a budget of %d per %s; subscribe again in %d s",
			max(op.Cost, 1), d.Limit, r.cfg.RateLimitWindow, seconds(d.RetryAfter))
		rerr.Errors[0].Extensions["cost"] = costReport{Estimated: op.Cost}
		rerr.Errors[0].Extensions["retryAfter"] = seconds(d.RetryAfter)
		return rerr
	}
	return nil
}

// setRateHeaders sets the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers)
// and, on refusals, Retry-After.
func (r *Router) setRateHeaders(h http.Header, d *ratelimit.Decision) {
	if d == nil || d.Limit == 0 {
		return
	}
	// Canonical keys set directly: Header.Set would canonicalise (and
	// allocate) each name on every response.
	limit := strconv.Itoa(d.Limit)
	h["Ratelimit-Limit"] = []string{limit}
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(seconds(d.Reset))}
	h["Ratelimit-Policy"] = []string{limit + ";w=" + strconv.Itoa(seconds(r.cfg.RateLimitWindow))}
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(seconds(d.RetryAfter), 1)))
	}
}

// seconds rounds up: a client that waits the advertised time must succeed.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// clientIP is the address anonymous budgets are kept by: the peer's, or with
// ROUTER_CLIENT_IP_HEADER (behind a trusted proxy) that header's: the last
// X-Forwarded-For entry is the one the proxy itself added.
func (r *Router) clientIP(req *http.Request) string {
	if h := r.cfg.ClientIPHeader; h != "" {
		if v := req.Header.Values(h); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// checkCost estimates op's cost (planning it, or taking the cached plan) and
// refuses it over the ceiling. Nothing has reached a subgraph yet.
func (r *Router) checkCost(op *engine.Operation) error {
	cost, err := r.engine.Estimate(op)
	if err != nil {
		return err
	}
	if r.cfg.MaxCost > 0 && cost > r.cfg.MaxCost {
		r.tel.Rejected("cost_limit")
		rerr := engine.NewRequestError(http.StatusBadRequest, apperr.CodeCostLimitExceeded,
			"the operation's estimated cost %d exceeds the limit of %d (ROUTER_MAX_COST): ask for fewer items (first) or fewer fields", cost, r.cfg.MaxCost)
		rerr.Errors[0].Extensions["cost"] = costReport{Estimated: cost, Limit: r.cfg.MaxCost}
		return rerr
	}
	return nil
}

// wantsCost reports whether the response should carry extensions.cost.
func (r *Router) wantsCost(req *http.Request) bool {
	if r.cfg.ExposeCost {
		return true
	}
	v := strings.TrimSpace(req.Header.Get(CostHeader))
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// withCost adds extensions.cost to a GraphQL response object, keeping any other
// extensions the response has.
func (r *Router) withCost(resp []byte, cost int) []byte {
	report := costReport{Estimated: cost, Limit: r.cfg.MaxCost}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(resp, &top); err != nil {
		return resp
	}
	ext := map[string]json.RawMessage{}
	if raw, ok := top["extensions"]; ok {
		_ = json.Unmarshal(raw, &ext)
	}
	ext["cost"], _ = json.Marshal(report)
	top["extensions"], _ = json.Marshal(ext)
	// The order the engine writes: errors, data, then extensions.
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, k := range []string{"errors", "data", "extensions"} {
		v, ok := top[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(k) + ":")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}
