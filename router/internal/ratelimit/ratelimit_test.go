package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
)

// window is long enough that no budget refills noticeably during a test
// (GCRA refills continuously: a budget of 10 an hour gains one unit per six
// minutes).
const window = time.Hour

var (
	anon = identity.Principal{}
	ann  = identity.Principal{UserID: "u-ann", TokenID: "t-ann"}
	bob  = identity.Principal{UserID: "u-bob", TokenID: "t-bob", Roles: []string{"staff"}}
)

// bundle is one test's Redis and the client the limiter uses.
type bundle struct {
	srv    *redistest.Server
	client *redis.Client
	// asks counts the GCRA script runs Redis received (EVALSHA; a first
	// run's NOSCRIPT retry with EVAL is the same ask).
	asks *atomic.Int64
}

func setup(t *testing.T) bundle {
	t.Helper()
	srv := redistest.Start(t)
	return bundle{srv: srv, client: newClient(t, srv, 0)}.withCounter(t)
}

// newClient returns a fail-fast client of DB db on srv, as the router makes.
func newClient(t *testing.T, srv *redistest.Server, db int) *redis.Client {
	t.Helper()
	opt, err := redisx.Options(srv.URL(db))
	require.NoError(t, err)
	c := redisx.New(opt)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func (b bundle) withCounter(t *testing.T) bundle {
	t.Helper()
	b.asks = &atomic.Int64{}
	b.client.AddHook(askCounter{b.asks})
	return b
}

func (b bundle) limiter(opts Options) *Limiter {
	opts.Redis = b.client
	if opts.Window == 0 {
		opts.Window = window
	}
	return New(opts)
}

// askCounter counts EVALSHA commands, alone or in a transaction.
type askCounter struct{ n *atomic.Int64 }

func (askCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h askCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h askCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.count(c)
		}
		return next(ctx, cmds)
	}
}

func (h askCounter) count(cmd redis.Cmder) {
	if strings.EqualFold(cmd.Name(), "evalsha") {
		h.n.Add(1)
	}
}

// TestSpendAndRefuse: with a budget too small to lease, every operation is
// spent in Redis; one that does not fit is refused without spending, with
// when it would fit.
func TestSpendAndRefuse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := setup(t).limiter(Options{AnonymousBudget: 10})

	for _, remaining := range []int{7, 4, 1} {
		d, err := l.Allow(ctx, anon, "192.0.2.1", 3)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.Equal(t, 10, d.Limit)
		require.Equal(t, remaining, d.Remaining)
		require.Zero(t, d.RetryAfter)
		require.False(t, d.Unchecked)
		require.Positive(t, d.Reset)
		require.LessOrEqual(t, d.Reset, window)
	}
	d, err := l.Allow(ctx, anon, "192.0.2.1", 3)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Zero(t, d.Remaining, "redis_rate reports none left on a refusal, though one unit is")
	// Two more units: two refills of window/10 each.
	require.InDelta(t, float64(2*window/10), float64(d.RetryAfter), float64(time.Second))

	// The refusal spent nothing: the last unit is still there. A free
	// operation costs one unit all the same.
	d, err = l.Allow(ctx, anon, "192.0.2.1", 0)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Zero(t, d.Remaining)
	d, err = l.Allow(ctx, anon, "192.0.2.1", 0)
	require.NoError(t, err)
	require.False(t, d.Allowed)

	// An operation over the whole budget is refused, spending nothing.
	d, err = l.Allow(ctx, anon, "192.0.2.2", 11)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Positive(t, d.RetryAfter)
	d, err = l.Allow(ctx, anon, "192.0.2.2", 10)
	require.NoError(t, err)
	require.True(t, d.Allowed, "a whole budget at once is allowed after a quiet spell")
}

// TestOverBudgetRetryAfter: an operation costing more than the whole budget
// never fits, so its RetryAfter should be a window (ask, in ratelimit.go,
// says so). redis_rate (v10.0.1) never reports a negative RetryAfter for it:
// it answers the time until the excess would have refilled (here one unit: a
// tenth of the window), which is never enough; ask checks cost > budget.
func TestOverBudgetRetryAfter(t *testing.T) {
	t.Parallel()
	l := setup(t).limiter(Options{AnonymousBudget: 10})
	d, err := l.Allow(t.Context(), anon, "192.0.2.2", 11)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Equal(t, window, d.RetryAfter)
}

func TestBudget(t *testing.T) {
	t.Parallel()
	l := setup(t).limiter(Options{AnonymousBudget: 10, UserBudget: 100, RoleBudgets: map[string]int{"staff": 1000, "guest": 5}})
	require.Equal(t, 10, l.Budget(anon))
	require.Equal(t, 100, l.Budget(ann))
	require.Equal(t, 1000, l.Budget(bob), "a role's larger budget")
	require.Equal(t, 100, l.Budget(identity.Principal{UserID: "g", Roles: []string{"guest"}}), "a role never lowers the user budget")
	require.Equal(t, 1000, l.Budget(identity.Principal{UserID: "g", Roles: []string{"guest", "staff", "unknown"}}), "the largest of the roles")
	require.Equal(t, 10, l.Budget(identity.Principal{Roles: []string{"staff"}}), "anonymous, whatever the roles")
}

func TestKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p      identity.Principal
		ip     string
		prefix int
		want   string
	}{
		{ann, "192.0.2.1", 64, "router:cost:user:u-ann"},
		{ann, "2001:db8::1", 64, "router:cost:user:u-ann"},
		{anon, "192.0.2.1", 64, "router:cost:ip:192.0.2.1"},
		{anon, "::ffff:192.0.2.1", 64, "router:cost:ip:192.0.2.1"},
		{anon, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "router:cost:ip:2001:db8:1:2::/64"},
		{anon, "2001:db8:1:2::1", 64, "router:cost:ip:2001:db8:1:2::/64"},
		{anon, "2001:db8:1:2::1", 48, "router:cost:ip:2001:db8:1::/48"},
		{anon, "2001:db8:1:2::1", 128, "router:cost:ip:2001:db8:1:2::1"},
		{anon, "2001:db8:1:2::1", 0, "router:cost:ip:2001:db8:1:2::1"},
		{anon, "fe80::1%eth0", 128, "router:cost:ip:fe80::1"},
		{anon, "not an address", 64, "router:cost:ip:not an address"},
	} {
		require.Equal(t, tc.want, Key(tc.p, tc.ip, tc.prefix), "%+v %s /%d", tc.p, tc.ip, tc.prefix)
	}
}

// TestBudgetsPerPrincipal: a signed-in user's budget is theirs from any
// address; anonymous clients share theirs per IPv4 address and per IPv6 /64.
func TestBudgetsPerPrincipal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := setup(t).limiter(Options{AnonymousBudget: 2, UserBudget: 3, IPv6Prefix: 64})
	spend := func(p identity.Principal, ip string) bool {
		t.Helper()
		d, err := l.Allow(ctx, p, ip, 1)
		require.NoError(t, err)
		return d.Allowed
	}
	require.True(t, spend(anon, "2001:db8:0:1::1"))
	require.True(t, spend(anon, "2001:db8:0:1::2"))
	require.False(t, spend(anon, "2001:db8:0:1:ffff::3"), "the same /64")
	require.True(t, spend(anon, "2001:db8:0:2::1"), "another /64")
	require.True(t, spend(anon, "192.0.2.1"))
	require.True(t, spend(anon, "192.0.2.2"), "IPv4 addresses apart")

	for _, ip := range []string{"2001:db8:0:1::1", "192.0.2.1", "198.51.100.7"} {
		require.True(t, spend(ann, ip), "a user's budget is not the address's")
	}
	require.False(t, spend(ann, "203.0.113.9"), "nor renewed by another address")
	require.True(t, spend(bob, "192.0.2.1"), "users apart")
}

// TestLeases: a budget large enough to lease is asked of Redis once per
// lease (a fiftieth of the budget), and the decisions count the lease.
func TestLeases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t)
	l := b.limiter(Options{UserBudget: 5000})
	const lease = 5000 / 50
	for i := range lease {
		d, err := l.Allow(ctx, ann, "192.0.2.1", 1)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.Equal(t, 5000-i-1, d.Remaining)
	}
	require.EqualValues(t, 1, b.asks.Load(), "one lease for %d operations", lease)
	d, err := l.Allow(ctx, ann, "192.0.2.1", 1)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.EqualValues(t, 2, b.asks.Load(), "the next lease")
	require.Equal(t, 5000-lease-1, d.Remaining)

	// Redis holds what the leases took, not what was spent of them: another
	// replica sees two leases gone.
	other := b.limiter(Options{UserBudget: 5000})
	d, err = other.Allow(ctx, ann, "192.0.2.1", 1)
	require.NoError(t, err)
	require.Equal(t, 5000-2*lease-1, d.Remaining, "what Redis holds, with the other replica's own lease")

	// Costly operations (a lease under four of them) are asked one by one.
	before := b.asks.Load()
	for range 3 {
		d, err := l.Allow(ctx, bob, "192.0.2.1", 30)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	require.EqualValues(t, 3, b.asks.Load()-before)
}

// TestSharedBudget: replicas sharing one Redis never admit more than the
// budget between them (a lease is spent in Redis when taken), and lose at
// most a lease each to what the other holds unspent.
func TestSharedBudget(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t)
	const budget, lease = 500, 500 / 50
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		// Each replica has its own client (connection pool) and leases.
		l := New(Options{Redis: newClient(t, b.srv, 0), Window: window, UserBudget: budget})
		for range 4 {
			wg.Go(func() {
				for {
					d, err := l.Allow(ctx, ann, "192.0.2.1", 1)
					if err != nil {
						t.Error(err)
						return
					}
					if !d.Allowed {
						return
					}
					admitted.Add(1)
				}
			})
		}
	}
	wg.Wait()
	require.LessOrEqual(t, admitted.Load(), int64(budget))
	require.GreaterOrEqual(t, admitted.Load(), int64(budget-2*lease))
}

// TestRedisDown: a limiter that cannot ask Redis admits (unchecked) by
// default and refuses when failing closed; either way the failure is
// reported. A lease already held is still spent without Redis.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t)
	var errs atomic.Int64
	open := b.limiter(Options{AnonymousBudget: 10, UserBudget: 5000, OnRedisError: func() { errs.Add(1) }})
	closed := b.limiter(Options{AnonymousBudget: 10, FailClosed: true, OnRedisError: func() { errs.Add(1) }})
	d, err := open.Allow(ctx, ann, "192.0.2.1", 1)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.False(t, d.Unchecked)

	b.srv.Stop()

	d, err = open.Allow(ctx, anon, "192.0.2.1", 1)
	require.NoError(t, err)
	require.Equal(t, Decision{Allowed: true, Limit: 10, Remaining: 10, Unchecked: true}, d)
	require.EqualValues(t, 1, errs.Load())

	d, err = closed.Allow(ctx, anon, "192.0.2.1", 1)
	require.ErrorIs(t, err, ErrUnavailable)
	require.False(t, d.Allowed)
	require.EqualValues(t, 2, errs.Load())

	// ann's lease (taken before Redis went) still admits.
	d, err = open.Allow(ctx, ann, "192.0.2.1", 1)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.False(t, d.Unchecked)
	require.EqualValues(t, 2, errs.Load())

	// A request that gave up is not a Redis failure.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = closed.Allow(cancelled, anon, "192.0.2.9", 1)
	require.ErrorIs(t, err, context.Canceled)
	require.EqualValues(t, 2, errs.Load())
}

// TestAllowExists: with the deny-list's DB on the same server, its keys are
// read in the rate limit's round trip; a lease spent locally reads nothing
// (nil Exists: the caller reads them itself), nor does a limiter without
// DenyListDB.
func TestAllowExists(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t)
	deny := newClient(t, b.srv, 1)
	require.NoError(t, deny.Set(ctx, "deny:a", "1", 0).Err())
	require.NoError(t, deny.Set(ctx, "deny:b", "1", 0).Err())

	db := 1
	l := b.limiter(Options{AnonymousBudget: 10, UserBudget: 5000, DenyListDB: &db})
	d, ex, err := l.AllowExists(ctx, anon, "192.0.2.1", 1, []string{"deny:a", "deny:b", "deny:c"})
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Equal(t, &Exists{N: 2}, ex)
	require.EqualValues(t, 1, b.asks.Load())
	require.Zero(t, b.client.Exists(ctx, "deny:a").Val(), "the connection is back on its own DB")

	_, ex, err = l.AllowExists(ctx, ann, "192.0.2.1", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.Equal(t, &Exists{N: 1}, ex, "taking a lease reads them too")
	_, ex, err = l.AllowExists(ctx, ann, "192.0.2.1", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.Nil(t, ex, "spent from the lease: nothing was read")

	apart := b.limiter(Options{AnonymousBudget: 10})
	_, ex, err = apart.AllowExists(ctx, anon, "192.0.2.2", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.Nil(t, ex)
}

// TestAllowExistsWhereSelectIsRefused: a Redis user not allowed to SELECT
// makes the limiter read the deny-list and the budget separately from then
// on, still deciding correctly.
func TestAllowExistsWhereSelectIsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t)
	require.NoError(t, b.client.Do(ctx, "ACL", "SETUSER", "limited", "on", ">limited", "~*", "+@all", "-select").Err())
	opt, err := redisx.Options(b.srv.URL(0))
	require.NoError(t, err)
	opt.Username, opt.Password = "limited", "limited"
	c := redisx.New(opt)
	t.Cleanup(func() { require.NoError(t, c.Close()) })

	db := 1
	l := New(Options{Redis: c, Window: window, AnonymousBudget: 2, DenyListDB: &db})
	d, ex, err := l.AllowExists(ctx, anon, "192.0.2.1", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Nil(t, ex, "not read: the caller must")
	require.True(t, l.combined.off.Load())
	d, _, err = l.AllowExists(ctx, anon, "192.0.2.1", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.True(t, d.Allowed)
	d, _, err = l.AllowExists(ctx, anon, "192.0.2.1", 1, []string{"deny:a"})
	require.NoError(t, err)
	require.False(t, d.Allowed, "the budget was spent exactly once per operation")
}
