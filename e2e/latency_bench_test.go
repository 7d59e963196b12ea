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

// TestLatency measures `{ me { id } }` through the router against the users
// subgraph directly, one connection, sequential requests. It is a measurement,
// not a test: run it with `go test -tags bench -run TestLatency -v .` in e2e/ (make bench).
func TestLatency(t *testing.T) {
	e := setup(t)
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
	t.Logf("{ me { id } } p50, 1 connection: router %v, subgraph directly %v, router overhead %v", viaRouter, onSubgraph, viaRouter-onSubgraph)
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
