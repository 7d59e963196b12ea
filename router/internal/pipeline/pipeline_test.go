package pipeline

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"

	"supergraph/platform/apperr"
	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/ratelimit"
	"supergraph/router/internal/telemetry"
)

// newTestPipeline is a pipeline on the platform's graph with a real Redis
// behind its limiter (budget units per minute for everyone; nil: no limiter).
func newTestPipeline(t *testing.T, budget int, maxCost int) *Pipeline {
	t.Helper()
	g, err := engine.ReadGraph("../../../graph/config.json")
	require.NoError(t, err)
	e, err := engine.New(g, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	tel, err := telemetry.New(telemetry.Options{})
	require.NoError(t, err)
	opts := Options{Engine: e, Telemetry: tel, MaxCost: maxCost, RateLimitWindow: time.Minute, MaxSubscriptionsPerPrincipal: 2, IPv6Prefix: 64}
	if budget > 0 {
		opt, err := redisx.Options(redistest.Start(t).URL(0))
		require.NoError(t, err)
		rdb := redisx.New(opt)
		t.Cleanup(func() { require.NoError(t, rdb.Close()) })
		opts.Limiter = ratelimit.New(ratelimit.Options{Redis: rdb, Window: time.Minute, AnonymousBudget: budget, UserBudget: budget, IPv6Prefix: 64})
	}
	return New(opts)
}

func prepare(t *testing.T, p *Pipeline, query string) *engine.Operation {
	t.Helper()
	op, err := p.Prepare(engine.Request{Query: query})
	require.NoError(t, err)
	return op
}

func code(t *testing.T, err error) string {
	t.Helper()
	rerr := AsRequestError(err)
	c, _ := rerr.Errors[0].Extensions["code"].(string)
	return c
}

func TestAdmitChecksTheCeilingBeforeTheBudget(t *testing.T) {
	t.Parallel()
	p := newTestPipeline(t, 50, 30)
	ctx := context.Background()
	caller, err := p.Identify(ctx, "", "192.0.2.1")
	require.NoError(t, err)
	require.True(t, caller.Principal.Anonymous())

	cheap := prepare(t, p, `{ __typename }`)
	dear := prepare(t, p, `{ gigs(first: 100) { edges { node { id title } } } }`)
	_, err = p.Admit(ctx, caller, dear)
	require.Equal(t, apperr.CodeCostLimitExceeded, code(t, err))
	require.Equal(t, http.StatusBadRequest, AsRequestError(err).Status)

	// Over the ceiling spends nothing: the whole budget is still there.
	d, err := p.Admit(ctx, caller, cheap)
	require.NoError(t, err)
	require.Equal(t, 50, d.Limit)
	require.Equal(t, 49, d.Remaining)

	// Spend it, then the budget refuses with retryAfter.
	for d.Remaining > 0 {
		d, err = p.Admit(ctx, caller, cheap)
		require.NoError(t, err)
	}
	_, err = p.Admit(ctx, caller, cheap)
	require.Equal(t, apperr.CodeRateLimited, code(t, err))
	require.Positive(t, AsRequestError(err).Errors[0].Extensions["retryAfter"])

	// Another address has a budget of its own.
	other, err := p.Identify(ctx, "", "192.0.2.2")
	require.NoError(t, err)
	_, err = p.Admit(ctx, other, cheap)
	require.NoError(t, err)
}

func TestSubscriptionSlots(t *testing.T) {
	t.Parallel()
	p := newTestPipeline(t, 0, 0)
	caller, err := p.Identify(context.Background(), "", "2001:db8::1")
	require.NoError(t, err)
	sameHost, err := p.Identify(context.Background(), "", "2001:db8::2")
	require.NoError(t, err)
	op := prepare(t, p, `subscription { notificationAdded { id } }`)

	a, err := p.Subscribe(caller, op)
	require.NoError(t, err)
	b, err := p.Subscribe(sameHost, op)
	require.NoError(t, err, "a /64 shares two slots")
	_, err = p.Subscribe(caller, op)
	require.Equal(t, apperr.CodeRateLimited, code(t, err))
	require.Equal(t, http.StatusTooManyRequests, AsRequestError(err).Status)

	a.End()
	a.End() // ending twice gives one slot back
	c, err := p.Subscribe(caller, op)
	require.NoError(t, err)
	_, err = p.Subscribe(caller, op)
	require.Error(t, err, "End gave back exactly one slot")
	b.End()
	c.End()
}

// recorder is a subscription writer that keeps what reaches the client.
type recorder struct {
	buf    []byte
	events []string
}

func (r *recorder) Write(p []byte) (int, error) { r.buf = append(r.buf, p...); return len(p), nil }
func (r *recorder) Flush() error {
	r.events = append(r.events, string(r.buf))
	r.buf = r.buf[:0]
	return nil
}
func (r *recorder) Complete()                           {}
func (r *recorder) Heartbeat() error                    { return nil }
func (r *recorder) Close(resolve.SubscriptionCloseKind) {}

func TestEveryEventIsPaidFor(t *testing.T) {
	t.Parallel()
	p := newTestPipeline(t, 10, 0)
	caller, err := p.Identify(context.Background(), "", "192.0.2.9")
	require.NoError(t, err)
	op := prepare(t, p, `subscription { notificationAdded { id } }`)
	_, err = p.Admit(context.Background(), caller, op) // the start
	require.NoError(t, err)
	sub, err := p.Subscribe(caller, op)
	require.NoError(t, err)
	defer sub.End()

	rec := &recorder{}
	var refusals []string
	w := sub.metered(context.Background(), rec, func(rerr *engine.RequestError) {
		refusals = append(refusals, rerr.Errors[0].Extensions["code"].(string))
	})
	for i := range 15 {
		_, _ = w.Write([]byte{'a' + byte(i)})
		require.NoError(t, w.Flush())
	}
	// 10 units: 1 for the start, 9 events; the tenth is refused, unsent, and
	// nothing after it is written or charged again.
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, rec.events)
	require.Equal(t, []string{apperr.CodeRateLimited}, refusals)
}

func TestWithoutALimiterEventsAreFree(t *testing.T) {
	t.Parallel()
	p := newTestPipeline(t, 0, 0)
	caller, err := p.Identify(context.Background(), "", "192.0.2.10")
	require.NoError(t, err)
	sub, err := p.Subscribe(caller, prepare(t, p, `subscription { notificationAdded { id } }`))
	require.NoError(t, err)
	defer sub.End()
	rec := &recorder{}
	require.Same(t, rec, sub.metered(context.Background(), rec, nil), "nothing to charge: the writer is used as it is")
}
