package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHungRedis: Redis stops answering without closing anything (a hung
// process, a dead network path). Caches are only an optimisation, so public
// pages must still come whole from PostgreSQL, well inside the router's
// subgraph timeout, and signed-in requests get a clear 503 (the deny-list
// cannot be read; fail-closed by default) instead of hanging. Once Redis
// answers again, everything is as before.
func TestHungRedis(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.startSubgraphs()
	cfg := p.routerConfig()
	// Longer than the request-path Redis commands of a page may take
	// (redisx.Timeout each) several times over, shorter than go-redis' own
	// defaults would make them.
	cfg.SubgraphTimeout = 5 * time.Second
	p.startRouterWith(cfg)

	ana := p.register("ana", "FREELANCER")
	p.createGig(ana.Token, "I will draw your logo", p.categoryID("logo-design"), "ACTIVE")
	const page = `{ gigs(first: 5) { edges { node { title freelancer { username } } } } }`
	want := map[string]any{"gigs": map[string]any{"edges": []any{
		map[string]any{"node": map[string]any{"title": "I will draw your logo", "freelancer": map[string]any{"username": "ana"}}},
	}}}
	require.Equal(t, want, p.ok("", page, nil))

	p.redis.Freeze()
	thawed := false
	thaw := func() {
		if !thawed {
			p.redis.Thaw()
			thawed = true
		}
	}
	t.Cleanup(thaw)

	res := p.post("", page, nil)
	require.Empty(t, res.Errors, "no subgraph may time out on a cache")
	require.Equal(t, want, res.Data)

	// The token was verified before; once its deny-list check is due, it
	// cannot be made: 503 with a clear message, never a hang or a 500.
	require.Eventually(t, func() bool {
		res, err := p.request(http.MethodPost, ana.Token, `{ me { username } }`, nil, nil)
		return err == nil && res.Status == http.StatusServiceUnavailable &&
			len(res.Errors) == 1 && res.Errors[0].Message == "cannot verify the access token right now; retry shortly"
	}, 15*time.Second, 50*time.Millisecond)

	thaw()
	require.Eventually(t, func() bool {
		res, err := p.request(http.MethodPost, ana.Token, `{ me { username } }`, nil, nil)
		return err == nil && res.Status == http.StatusOK && dig(res.Data, "me", "username") == "ana"
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, want, p.ok("", page, nil))
}
