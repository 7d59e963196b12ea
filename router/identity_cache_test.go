package router_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/router"
)

// TestRevocationAppliesToTheNextRequest: with ROUTER_DENYLIST_CHECK_INTERVAL
// 0, a token the router has verified (and remembers) is refused as soon as
// the deny-list names it or its session.
//
// With rate limiting the deny-list is read in the rate limit's round trip
// when the limiter asks Redis (same server); otherwise on its own.
func TestRevocationAppliesToTheNextRequest(t *testing.T) {
	t.Parallel()
	for _, limited := range []bool{true, false} {
		t.Run(fmt.Sprint("rate_limit=", limited), func(t *testing.T) {
			t.Parallel()
			testRevocationAppliesToTheNextRequest(t, setup(t, func(_ *env, c *router.Config) {
				c.RateLimit, c.DenyListCheckInterval = limited, 0
			}))
		})
	}
}

func testRevocationAppliesToTheNextRequest(t *testing.T, e *env) {
	id := e.userIDs()[0]
	for _, key := range []func(jti, sid string) string{
		func(jti, _ string) string { return identity.DenyTokenKey(jti) },
		func(_, sid string) string { return identity.DenySessionKey(sid) },
	} {
		jti, sid := fmt.Sprint("jti-", time.Now().UnixNano()), fmt.Sprint("sid-", time.Now().UnixNano())
		tok := e.issuer.token(id, func(o *tokenOpts) { o.jti, o.sid = jti, sid })
		for i := range 3 {
			if i == 2 {
				// Redis forgot the rate limit script: the combined round trip
				// gets NOSCRIPT and the script is sent again.
				require.NoError(t, e.deny.ScriptFlush(context.Background()).Err())
			}
			res := e.post(`{ me { id } }`, nil, bearer(tok)...)
			require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		}
		require.NoError(t, e.deny.Set(context.Background(), key(jti, sid), "1", time.Hour).Err())
		res := e.post(`{ me { id } }`, nil, bearer(tok)...)
		require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Raw))
		require.Equal(t, "access token revoked", res.errorMessage())
	}
}

// TestDenyListCheckIntervalStillRevokesAfterAMutation: with a deny-list check
// interval, a token's own mutation (a logout) makes its next request read the
// deny-list again, and any revocation applies within the interval.
func TestDenyListCheckIntervalStillRevokesAfterAMutation(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.DenyListCheckInterval = time.Hour })
	id := e.userIDs()[1]
	tok := e.issuer.token(id, func(o *tokenOpts) { o.jti = "logs-out" })
	require.Equal(t, http.StatusOK, e.post(`{ me { id } }`, nil, bearer(tok)...).Status)
	// The mutation itself revokes, as the users service's logout does.
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("logs-out"), "1", time.Hour).Err())
	res := e.post(`mutation { rename(input: {username: "x"}) { id } }`, nil, bearer(tok)...)
	require.Equal(t, http.StatusOK, res.Status, "cleared within the interval: %s", res.Raw)
	res = e.post(`{ me { id } }`, nil, bearer(tok)...)
	require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Raw))
}

// TestConcurrentSubscribersNeverShareAnotherUsersUpstream: many subscribers,
// several per user and several tokens per user, open the very same
// subscription at once. Each receives the events of its own identity; the
// subscribers of one token share one upstream connection, different tokens
// never do.
func TestConcurrentSubscribersNeverShareAnotherUsersUpstream(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	const tokensPerUser, subscribersPerToken = 2, 4
	type sub struct{ user, token string }
	var subs []sub
	for _, id := range ids {
		for range tokensPerUser {
			tok := e.issuer.token(id)
			for range subscribersPerToken {
				subs = append(subs, sub{id, tok})
			}
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			c := e.dial("graphql-transport-ws", nil)
			c.init(map[string]any{"Authorization": "Bearer " + s.token})
			<-start
			c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { ticks(count: 3, intervalMs: 30) { n viewer } }`}})
			for n := 1; n <= 3; n++ {
				m, err := c.read()
				if err != nil || m["type"] != "next" {
					t.Errorf("subscriber of %s: %v %v", s.user, m, err)
					return
				}
				if got := m["payload"].(map[string]any)["data"].(map[string]any)["ticks"].(map[string]any)["viewer"]; got != s.user {
					t.Errorf("subscriber of %s received %v's event", s.user, got)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	// Subscribers of one token share one upstream subscription; a start
	// racing another's may open its own, but never fewer than one per token.
	opened := len(e.accounts.Protocols())
	require.GreaterOrEqual(t, opened, len(ids)*tokensPerUser)
	require.Less(t, opened, len(subs), "subscribers of one token share their upstream")
}

// TestRevocationMadeElsewhereAppliesWithinTheInterval: by default a cleared
// token skips the deny-list for a second; a revocation it did not make
// itself (another device signing out everywhere) applies within that.
func TestRevocationMadeElsewhereAppliesWithinTheInterval(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.issuer.token(e.userIDs()[2], func(o *tokenOpts) { o.jti = "elsewhere" })
	require.Equal(t, http.StatusOK, e.post(`{ me { id } }`, nil, bearer(tok)...).Status)
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("elsewhere"), "1", time.Hour).Err())
	revokedAt := time.Now()
	require.Eventually(t, func() bool {
		return e.post(`{ me { id } }`, nil, bearer(tok)...).Status == http.StatusUnauthorized
	}, 3*time.Second, 20*time.Millisecond)
	require.Less(t, time.Since(revokedAt), router.DefaultConfig().DenyListCheckInterval+500*time.Millisecond)
}
