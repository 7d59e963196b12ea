package router_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// costly costs 3 × (User 1 + email 5) = 18 units.
const costly = `{ users(first: 3) { id email } }`

func rateLimited(budget int, window time.Duration) option {
	return func(_ *env, c *router.Config) {
		c.RateLimitWindow = window
		c.RateLimitAnonymous = budget
		c.RateLimitUser = budget
		c.RateLimitRoles = map[string]int{"STAFF": 100 * budget}
		c.ClientIPHeader = "X-Forwarded-For"
	}
}

func TestRateLimitByCost(t *testing.T) {
	t.Parallel()
	e := setup(t, rateLimited(30, 2*time.Second))
	ip := []string{"X-Forwarded-For", "10.0.0.1"}

	res := e.post(costly, nil, ip...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, "30", res.Header.Get("RateLimit-Limit"))
	require.Equal(t, "12", res.Header.Get("RateLimit-Remaining"))
	require.Equal(t, "2", res.Header.Get("RateLimit-Reset"), "18 of 30 units refill in 1.2 s, rounded up")
	require.Equal(t, "30;w=2", res.Header.Get("RateLimit-Policy"))

	before := e.accounts.Requests.Load()
	res = e.post(costly, nil, ip...)
	require.Equal(t, http.StatusTooManyRequests, res.Status, string(res.Raw))
	require.Equal(t, "RATE_LIMITED", res.errorCode())
	require.Contains(t, res.errorMessage(), "costs 18 of a budget of 30 per 2s")
	require.Equal(t, "1", res.Header.Get("Retry-After"), "6 missing units refill in 0.4 s, rounded up")
	require.Equal(t, "0", res.Header.Get("RateLimit-Remaining")[:1])
	require.Nil(t, res.Data)
	require.Equal(t, before, e.accounts.Requests.Load(), "a refused operation never reaches a subgraph")

	// Other principals have budgets of their own: another address, a user.
	res = e.post(costly, nil, "X-Forwarded-For", "10.0.0.2")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	ids := e.userIDs()
	res = e.post(costly, nil, bearer(e.issuer.token(ids[0]))...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	res = e.post(costly, nil, bearer(e.issuer.token(ids[0]))...)
	require.Equal(t, http.StatusTooManyRequests, res.Status, "a user's budget follows the user, not the address")
	// STAFF get their role's larger budget.
	staff := e.issuer.token(ids[1], func(o *tokenOpts) { o.roles = []string{"STAFF"} })
	for range 5 {
		res = e.post(costly, nil, bearer(staff)...)
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	}
	require.Equal(t, "3000", res.Header.Get("RateLimit-Limit"))

	// The budget refills: after Retry-After the refused operation passes. Failed
	// attempts spend nothing, so polling does not starve it.
	refusedAt := time.Now()
	require.Eventually(t, func() bool {
		return e.post(costly, nil, ip...).Status == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(refusedAt), 300*time.Millisecond, "GCRA refills at 15 units/s: 6 units take 0.4 s")
}

func TestRateLimitCountsSubscriptionsWhenTheyStart(t *testing.T) {
	t.Parallel()
	e := setup(t, rateLimited(30, time.Minute))
	id := e.userIDs()[0]
	tok := e.issuer.token(id)
	require.Equal(t, http.StatusOK, e.post(costly, nil, bearer(tok)...).Status)

	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + tok})
	// ticks costs 1: it fits in the 12 units left, and starts.
	c.send(map[string]any{"id": "s1", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 1) { n } }`}})
	require.Equal(t, "next", c.mustRead()["type"])
	require.Equal(t, "complete", c.mustRead()["type"])
	// An operation over the budget is refused on its own; the connection stays.
	c.send(map[string]any{"id": "q1", "type": "subscribe", "payload": map[string]any{"query": costly}})
	m := c.mustRead()
	require.Equal(t, "error", m["type"], m)
	errs, _ := m["payload"].([]any)
	require.NotEmpty(t, errs)
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	require.Equal(t, "RATE_LIMITED", ext["code"])
	c.send(map[string]any{"type": "ping"})
	require.Equal(t, "pong", c.mustRead()["type"])
}

// TestRateLimitCountsEverySubscriptionEvent: a subscription pays its cost
// when it starts and again for every event, over WebSocket and SSE alike;
// the event the budget cannot pay for ends it with RATE_LIMITED instead of
// being sent, and the budget is the same one queries spend.
func TestRateLimitCountsEverySubscriptionEvent(t *testing.T) {
	t.Parallel()
	// 20 units a minute: a third of a unit refills per second, so the test
	// ends long before refills matter; budgets this small are asked of
	// Redis operation by operation, so the count is exact.
	e := setup(t, rateLimited(20, time.Minute))
	ids := e.userIDs()
	const endless = `subscription { ticks(count: 1000, intervalMs: 1) { n } }`

	countNext := func(nexts int, last map[string]any) {
		t.Helper()
		// 1 unit to start, 1 per event: 19 of the 20 go to events, give or
		// take one refilled while the events flowed.
		require.GreaterOrEqual(t, nexts, 19)
		require.LessOrEqual(t, nexts, 20)
		require.Equal(t, "RATE_LIMITED", last["code"], last)
		require.NotZero(t, last["retryAfter"], last)
	}

	// WebSocket: the events, then an error message ends the operation.
	tok := e.issuer.token(ids[0])
	c := e.dial("graphql-transport-ws", nil)
	c.init(map[string]any{"Authorization": "Bearer " + tok})
	c.send(map[string]any{"id": "s1", "type": "subscribe", "payload": map[string]any{"query": endless}})
	nexts := 0
	for {
		m := c.mustRead()
		if m["type"] == "next" {
			nexts++
			continue
		}
		require.Equal(t, "error", m["type"], m)
		errs, _ := m["payload"].([]any)
		require.Len(t, errs, 1)
		countNext(nexts, errs[0].(map[string]any)["extensions"].(map[string]any))
		break
	}
	// The budget is spent for queries too; the connection itself stays.
	c.send(map[string]any{"id": "q1", "type": "subscribe", "payload": map[string]any{"query": costly}})
	require.Equal(t, "error", c.mustRead()["type"])
	c.send(map[string]any{"type": "ping"})
	require.Equal(t, "pong", c.mustRead()["type"])

	// SSE, another user: the events, one carrying the error, then complete.
	status, names, data := e.sseEvents(endless, bearer(e.issuer.token(ids[1]))...)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "complete", names[len(names)-1])
	var last struct {
		Errors []struct{ Extensions map[string]any }
	}
	require.NoError(t, json.Unmarshal([]byte(data[len(data)-2]), &last), data[len(data)-2])
	require.Len(t, last.Errors, 1)
	countNext(len(names)-2, last.Errors[0].Extensions)
}

func TestRateLimitFailsOpenWithoutRedis(t *testing.T) {
	t.Parallel()
	e := setup(t, rateLimited(30, time.Minute))
	ip := []string{"X-Forwarded-For", "10.0.0.3"}
	require.Equal(t, http.StatusOK, e.post(costly, nil, ip...).Status)
	require.Equal(t, http.StatusTooManyRequests, e.post(costly, nil, ip...).Status)

	e.redis.Stop()
	for range 5 { // enough to open the Redis client's breaker too
		res := e.post(costly, nil, ip...)
		require.Equal(t, http.StatusOK, res.Status, "fail-open: served while Redis is down: %s", res.Raw)
		require.Empty(t, res.Errors)
	}

	// Back with Redis (empty: the test server keeps nothing), limits apply again
	// once the client's breaker lets a probe through.
	e.redis.Restart()
	require.Eventually(t, func() bool {
		return e.post(costly, nil, ip...).Status == http.StatusTooManyRequests
	}, 5*time.Second, 50*time.Millisecond)
}

func TestRateLimitFailClosed(t *testing.T) {
	t.Parallel()
	e := setup(t, rateLimited(30, time.Minute), func(_ *env, c *router.Config) { c.RateLimitFailClosed = true })
	e.redis.Stop()
	res := e.post(`{ me { id } }`, nil)
	require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Raw))
	require.Equal(t, "RATE_LIMITED", res.errorCode())
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, ra, 1)
	require.Zero(t, e.accounts.Requests.Load())
}

// TestRateLimitLeasesSpareRedisButKeepTheBudget: with a budget that is large
// against the operation's cost, a replica takes leases of a fiftieth of it and
// asks Redis once per lease, not once per operation; the budget still ends
// exactly where it would have.
func TestRateLimitLeasesSpareRedisButKeepTheBudget(t *testing.T) {
	t.Parallel()
	// 500 costly operations an hour: a lease is 180 units, ten operations.
	e := setup(t, rateLimited(500*18, time.Hour))
	ip := []string{"X-Forwarded-For", "10.0.0.9"}
	scripts := func() int {
		info, err := e.deny.Info(context.Background(), "commandstats").Result()
		require.NoError(t, err)
		n := 0
		for line := range strings.Lines(info) {
			if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:calls="); ok {
				n, err = strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				require.NoError(t, err)
			}
		}
		return n
	}

	before := scripts()
	for i := range 30 {
		res := e.post(costly, nil, ip...)
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		remaining, err := strconv.Atoi(res.Header.Get("RateLimit-Remaining"))
		require.NoError(t, err)
		// Exact but for what refilled meanwhile (2.5 units a second).
		require.InDelta(t, 9000-18*(i+1), remaining, 5, "operation %d", i)
	}
	require.Equal(t, 3, scripts()-before, "30 operations, 3 leases")

	allowed := 30
	for e.post(costly, nil, ip...).Status == http.StatusOK {
		allowed++
		require.Less(t, allowed, 600, "the budget never ends")
	}
	// The budget refills by 2.5 units a second meanwhile: a few operations.
	require.GreaterOrEqual(t, allowed, 500)
	require.LessOrEqual(t, allowed, 505, "leases never spend more than the budget")
}
