package router_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// Gate modes: how a gated subgraph answers.
const (
	gateOpen  = iota // pass through
	gateCrash        // drop the connection, as a crashed process does
	gateSlow         // hang until the router gives up
)

// gate stands in front of a test subgraph to break it on demand.
type gate struct {
	mode    atomic.Int32
	fail503 atomic.Int32 // answer this many requests with 503 first
	hits    atomic.Int64
	next    http.Handler
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.hits.Add(1)
	if g.fail503.Add(-1) >= 0 {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	}
	switch g.mode.Load() {
	case gateCrash:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close() // the abrupt hang-up is the point; there is no one to tell
		}
		return
	case gateSlow:
		// The server notices a client hanging up only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	g.next.ServeHTTP(w, r)
}

// gated routes the router's requests for subgraph name through a gate.
func gated(name string, g *gate) option {
	return func(e *env, c *router.Config) {
		g.next = e.accounts
		if name == "reviews" {
			g.next = e.reviews
		}
		srv := httptest.NewServer(g)
		e.t.Cleanup(srv.Close)
		c.SubgraphURLs[name] = srv.URL + "/graphql"
	}
}

const partialQuery = `query($id: ID!) { latestReview { body } user(id: $id) { username } }`

func TestCircuitBreakerFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	g := &gate{}
	e := setup(t, gated("reviews", g), func(_ *env, c *router.Config) {
		c.BreakerFailures = 3
		c.BreakerOpenTimeout = 300 * time.Millisecond
		c.SubgraphRetries = 0
	})
	vars := map[string]any{"id": e.userIDs()[0]}
	g.mode.Store(gateCrash)

	for i := range 6 {
		start := time.Now()
		res := e.post(partialQuery, vars)
		require.Less(t, time.Since(start), time.Second, "request %d must not hang", i)
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		require.Equal(t, map[string]any{"username": "ada"}, res.Data["user"], "the other subgraph's data still arrives")
		require.Nil(t, res.Data["latestReview"])
		require.Equal(t, "SUBGRAPH_UNAVAILABLE", res.errorCode(), string(res.Raw))
		require.Contains(t, res.errorMessage(), "'reviews'")
	}
	require.EqualValues(t, 3, g.hits.Load(), "after 3 failures the circuit is open: no more requests reach the subgraph")

	// The subgraph comes back; after the open period one probe passes and closes the circuit.
	g.mode.Store(gateOpen)
	require.Eventually(t, func() bool {
		res := e.post(partialQuery, vars)
		return len(res.Errors) == 0 && res.Data["latestReview"] != nil
	}, 5*time.Second, 50*time.Millisecond)
	for range 3 {
		require.Empty(t, e.post(partialQuery, vars).Errors, "closed again")
	}
}

func TestSubgraphTimeoutPerSubgraph(t *testing.T) {
	t.Parallel()
	g := &gate{}
	e := setup(t, gated("reviews", g), func(_ *env, c *router.Config) {
		c.SubgraphTimeouts = map[string]time.Duration{"reviews": 150 * time.Millisecond}
	})
	g.mode.Store(gateSlow)
	start := time.Now()
	res := e.post(partialQuery, map[string]any{"id": e.userIDs()[0]})
	require.Less(t, time.Since(start), 2*time.Second, "the reviews timeout (150ms), not the default (5s), applies")
	require.Equal(t, map[string]any{"username": "ada"}, res.Data["user"])
	require.Equal(t, "SUBGRAPH_UNAVAILABLE", res.errorCode(), string(res.Raw))
}

func TestRetriesOnlyForQueries(t *testing.T) {
	t.Parallel()
	g := &gate{}
	e := setup(t, gated("accounts", g))
	id := e.userIDs()[0]

	g.fail503.Store(1)
	res := e.post(`query($id: ID!) { user(id: $id) { username } }`, map[string]any{"id": id})
	require.Empty(t, res.Errors, "a query survives one 503 by retrying: %s", res.Raw)
	require.Equal(t, map[string]any{"username": "ada"}, res.Data["user"])
	require.EqualValues(t, 2, g.hits.Load())

	g.fail503.Store(1)
	res = e.post(`mutation { rename(input: {username: "x"}) { id } }`, nil, bearer(e.issuer.token(id))...)
	require.NotEmpty(t, res.Errors, "a mutation is never retried: %s", res.Raw)
	require.EqualValues(t, 3, g.hits.Load())
}
