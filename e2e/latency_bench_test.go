//go:build bench

package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

// BenchmarkRouterLatency measures `{ me { id } }` through the router against
// the users subgraph directly, one connection, sequential requests: the
// median of 2000 after 200 to warm up, each way. It is a measurement run once
// per call (see measureOnce), not a timing of b.N operations: make bench runs
// it with -benchtime=1x.
func BenchmarkRouterLatency(b *testing.B) {
	measureOnce(b)
	e := setup(b)
	id, access, _ := e.register("latency_user")
	direct := e.users.As(subgraphtestPrincipal(id))
	measure := func(do func()) time.Duration {
		for range 200 {
			do()
		}
		var d []time.Duration
		for range 2000 {
			start := time.Now()
			do()
			d = append(d, time.Since(start))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	viaRouter := measure(func() { e.router(access, `{ me { id } }`, nil) })
	onSubgraph := measure(func() { e.direct(direct.Assertion, `{ me { id } }`) })
	b.Logf("{ me { id } } p50, 1 connection: router %v, subgraph directly %v, router overhead %v", viaRouter, onSubgraph, viaRouter-onSubgraph)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(viaRouter), "router-p50-ms")
	b.ReportMetric(ms(onSubgraph), "direct-p50-ms")
	b.ReportMetric(ms(viaRouter-onSubgraph), "overhead-ms")
}

func subgraphtestPrincipal(id string) identity.Principal { return identity.Principal{UserID: id} }

// direct calls the users subgraph without the router, with an assertion.
func (e *env) direct(assertion, query string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, e.users.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(identity.Header, assertion)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	var out map[string]any
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&out))
	resp.Body.Close()
}
