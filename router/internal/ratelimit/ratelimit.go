// Package ratelimit keeps every principal's budget of query cost units per
// window in Redis, shared by all router replicas: GCRA (go-redis/redis_rate), so
// a budget refills continuously instead of resetting at window edges, and a
// burst of a whole budget is allowed after a quiet spell.
//
// A replica does not ask Redis for every operation: it takes a lease of a
// fiftieth of a principal's budget at a time (spent in Redis at once, so the
// shared budget is never exceeded) and spends it locally. What a replica still
// holds unspent is unavailable to the others, at most one lease each; small
// budgets and costly operations (a lease under four operations' worth) are
// asked for one by one, so limits stay exact where they are tight.
//
// When Redis is unreachable the limiter fails open (the router keeps serving,
// logged and counted) unless configured to fail closed. Its Redis client fails
// fast while Redis is unreachable (redisx.New), so no request waits on a dead one.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/identity"
)

// Options configure a Limiter.
type Options struct {
	// Redis should fail fast while unreachable (redisx.New): the limiter asks
	// it on the request path.
	Redis  *redis.Client
	Window time.Duration
	// AnonymousBudget is the budget of each client IP without a token;
	// UserBudget that of each signed-in user; RoleBudgets raises it per role
	// (a user gets the largest of their roles' budgets and UserBudget).
	AnonymousBudget int
	UserBudget      int
	// IPv6Prefix is how many leading bits of an IPv6 client address name
	// its anonymous budget (64: one budget per /64, what a single subscriber
	// or host is routinely given; 128: per address). IPv4 addresses (and
	// IPv4-mapped IPv6 ones) are taken whole.
	IPv6Prefix  int
	RoleBudgets map[string]int
	// FailClosed refuses requests while Redis cannot be asked.
	FailClosed bool
	// DenyListDB, when set, is the DB of the token deny-list on the same Redis
	// server: AllowExists then reads the deny-list in the rate limit's round
	// trip (one MULTI/EXEC: SELECT, EXISTS, SELECT back, the GCRA script).
	DenyListDB *int
	// OnRedisError is called for every decision Redis could not make (metrics).
	OnRedisError func()
	Logger       *slog.Logger
}

// Decision is the outcome for one operation.
type Decision struct {
	Allowed bool
	// Limit is the principal's budget per window; Remaining what is left of it.
	Limit     int
	Remaining int
	// Reset is when the budget is whole again; RetryAfter when this operation's
	// cost would fit (only when not allowed).
	Reset      time.Duration
	RetryAfter time.Duration
	// Unchecked means Redis could not be asked and the limiter failed open.
	Unchecked bool
}

// ErrUnavailable is returned when Redis cannot be asked and the limiter fails closed.
var ErrUnavailable = errors.New("rate limiter unavailable")

// Limiter decides whether a principal may spend cost units now.
type Limiter struct {
	opts     Options
	leases   *lru.Cache[string, *lease]
	combined *combined
	rl       *redis_rate.Limiter
	lastLog  atomic.Int64
}

// New returns a Limiter.
func New(opts Options) *Limiter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &combined{Client: opts.Redis, db: opts.Redis.Options().DB, log: opts.Logger}
	if opts.DenyListDB != nil {
		c.denyDB = *opts.DenyListDB
	} else {
		c.off.Store(true)
	}
	leases, _ := lru.New[string, *lease](leaseCacheSize)
	return &Limiter{
		opts:     opts,
		leases:   leases,
		combined: c,
		rl:       redis_rate.NewLimiter(c),
	}
}

// Budget returns p's budget per window.
func (l *Limiter) Budget(p identity.Principal) int {
	if p.Anonymous() {
		return l.opts.AnonymousBudget
	}
	b := l.opts.UserBudget
	for _, r := range p.Roles {
		b = max(b, l.opts.RoleBudgets[r])
	}
	return b
}

// Key names p's budget: the user id, or when anonymous the client address
// (an IPv6 one cut to its network of prefix bits).
func Key(p identity.Principal, clientIP string, prefix int) string {
	if p.Anonymous() {
		return "router:cost:ip:" + ClientNetwork(clientIP, prefix)
	}
	return "router:cost:user:" + p.UserID
}

// ClientNetwork is what a client address is counted as: an IPv4 address
// whole, an IPv6 one as its network of prefix bits ("2001:db8:1:2::/64"),
// since one IPv6 host can take any address of its /64; anything that does
// not parse, as it is.
func ClientNetwork(clientIP string, prefix int) string {
	a, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	a = a.Unmap().WithZone("")
	if a.Is4() || prefix <= 0 || prefix >= 128 {
		return a.String()
	}
	n, err := a.Prefix(prefix)
	if err != nil {
		return a.String()
	}
	return n.String()
}

// Allow spends cost units (at least one: no operation is free to send) of p's
// budget, or refuses without spending any.
func (l *Limiter) Allow(ctx context.Context, p identity.Principal, clientIP string, cost int) (Decision, error) {
	d, _, err := l.AllowExists(ctx, p, clientIP, cost, nil)
	return d, err
}

// Exists is the outcome of EXISTS on the deny-list keys given to AllowExists.
type Exists struct {
	N   int64
	Err error
}

// AllowExists is Allow that also counts which of keys exist in the deny-list
// DB, in the same round trip when it can (Options.DenyListDB). A nil Exists
// means the keys were not read: the caller must read them itself.
func (l *Limiter) AllowExists(ctx context.Context, p identity.Principal, clientIP string, cost int, keys []string) (Decision, *Exists, error) {
	var ex *Exists
	if len(keys) > 0 && !l.combined.off.Load() {
		ex = &Exists{}
		ctx = context.WithValue(ctx, existsKey{}, &existsCall{keys: keys, out: ex})
	}
	d, err := l.allow(ctx, p, clientIP, cost)
	if ex != nil {
		if c := ctx.Value(existsKey{}).(*existsCall); !c.done {
			ex = nil
		}
	}
	return d, ex, err
}

// Leases: a fiftieth of a budget each, for at most leaseCacheSize principals
// per replica (the least recently seen lose theirs).
const (
	leaseDivisor   = 50
	leaseCacheSize = 100_000
)

// lease is budget a replica took from Redis and spends locally.
type lease struct {
	mu    sync.Mutex
	units int
	// Redis's remaining budget and reset time when the lease was taken.
	remaining int
	resetAt   time.Time
}

func (l *Limiter) allow(ctx context.Context, p identity.Principal, clientIP string, cost int) (Decision, error) {
	budget, key := l.Budget(p), Key(p, clientIP, l.opts.IPv6Prefix)
	cost = max(cost, 1)
	size := budget / leaseDivisor
	if size < 4*cost {
		return l.ask(ctx, key, budget, cost)
	}
	if d, ok := l.spendLeased(key, budget, cost); ok {
		return d, nil
	}
	d, err := l.ask(ctx, key, budget, size)
	switch {
	case err != nil || d.Unchecked:
		return d, err
	case !d.Allowed:
		// Less than a lease is left: ask for exactly this operation.
		return l.ask(ctx, key, budget, cost)
	}
	l.keepLeased(key, size-cost, d)
	d.Remaining += size - cost
	return d, nil
}

// spendLeased spends cost from key's lease, if it holds that much.
func (l *Limiter) spendLeased(key string, budget, cost int) (Decision, bool) {
	ls, ok := l.leases.Get(key)
	if !ok {
		return Decision{}, false
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.units < cost {
		return Decision{}, false
	}
	ls.units -= cost
	return Decision{Allowed: true, Limit: budget, Remaining: ls.remaining + ls.units, Reset: max(time.Until(ls.resetAt), 0)}, true
}

// keepLeased adds units to key's lease.
func (l *Limiter) keepLeased(key string, units int, d Decision) {
	ls, ok := l.leases.Get(key)
	if !ok {
		ls = &lease{}
		if prev, found, _ := l.leases.PeekOrAdd(key, ls); found {
			ls = prev
		}
	}
	ls.mu.Lock()
	ls.units += units
	ls.remaining, ls.resetAt = d.Remaining, time.Now().Add(d.Reset)
	ls.mu.Unlock()
}

// ask spends cost units of key's budget in Redis.
func (l *Limiter) ask(ctx context.Context, key string, budget, cost int) (Decision, error) {
	limit := redis_rate.Limit{Rate: budget, Burst: budget, Period: l.opts.Window}
	res, err := l.rl.AllowN(ctx, key, limit, cost)
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, ctx.Err()
		}
		if l.opts.OnRedisError != nil {
			l.opts.OnRedisError()
		}
		l.logError(err)
		if l.opts.FailClosed {
			return Decision{Limit: budget}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return Decision{Allowed: true, Limit: budget, Remaining: budget, Unchecked: true}, nil
	}
	d := Decision{
		Allowed:   res.Allowed > 0,
		Limit:     budget,
		Remaining: res.Remaining,
		Reset:     max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = res.RetryAfter
		// redis_rate answers the time until the excess would have refilled,
		// never a negative one, when cost exceeds the whole budget.
		if d.RetryAfter < 0 || cost > budget {
			// More than a whole budget: it never fits. Come back after a window
			// (by then the client should have asked for less).
			d.RetryAfter = l.opts.Window
		}
	}
	return d, nil
}

// logError logs Redis failures at most every ten seconds: an outage must be
// visible without one line per request.
func (l *Limiter) logError(err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(10*time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	mode := "failing open: requests are served without rate limits"
	if l.opts.FailClosed {
		mode = "failing closed: requests are refused"
	}
	l.opts.Logger.Error("rate limiter cannot reach Redis, "+mode, "err", err)
}

type existsKey struct{}

// existsCall asks combined to read keys in the deny-list DB along with the
// rate limit script.
type existsCall struct {
	keys []string
	out  *Exists
	done bool
}

// combined is the Redis client redis_rate runs its GCRA script on. With an
// existsCall in the context it sends the script in one transaction with the
// deny-list read: MULTI, SELECT deny DB, EXISTS, SELECT back, EVALSHA, EXEC.
// A transaction either runs whole or not at all, so the connection never
// stays on the other DB; should Redis refuse SELECT (ACLs), combining turns
// itself off and the reads go separately.
type combined struct {
	*redis.Client
	db, denyDB int
	off        atomic.Bool
	log        *slog.Logger
}

func (c *combined) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.run(ctx, func(p redis.Pipeliner) *redis.Cmd { return p.EvalSha(ctx, sha1, keys, args...) },
		func() *redis.Cmd { return c.Client.EvalSha(ctx, sha1, keys, args...) })
}

func (c *combined) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.run(ctx, func(p redis.Pipeliner) *redis.Cmd { return p.Eval(ctx, script, keys, args...) },
		func() *redis.Cmd { return c.Client.Eval(ctx, script, keys, args...) })
}

func (c *combined) run(ctx context.Context, queue func(redis.Pipeliner) *redis.Cmd, alone func() *redis.Cmd) *redis.Cmd {
	call, _ := ctx.Value(existsKey{}).(*existsCall)
	// After a NOSCRIPT, redis_rate retries with EVAL: the deny-list was read.
	if call == nil || call.done || c.off.Load() {
		return alone()
	}
	var sel, back *redis.StatusCmd
	var ex *redis.IntCmd
	var cmd *redis.Cmd
	_, _ = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		sel = p.Select(ctx, c.denyDB)
		ex = p.Exists(ctx, call.keys...)
		back = p.Select(ctx, c.db)
		cmd = queue(p)
		return nil
	})
	call.done = true
	switch {
	case isRefusal(sel.Err()) || isRefusal(back.Err()):
		err := errors.Join(sel.Err(), back.Err())
		if c.off.CompareAndSwap(false, true) {
			c.log.Warn("Redis refused SELECT in a transaction: the deny-list and the rate limit are read in separate round trips from now on", "err", err)
		}
		call.done = false
		return alone()
	case sel.Err() != nil:
		call.out.Err = sel.Err()
	case back.Err() != nil:
		call.out.Err = back.Err()
	default:
		call.out.N, call.out.Err = ex.Result()
	}
	return cmd
}

// isRefusal tells a Redis error reply (the server said no) from a transport
// failure.
func isRefusal(err error) bool {
	var re redis.Error
	return err != nil && errors.As(err, &re) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
