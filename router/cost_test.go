package router_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// TestCostEstimates pins the static cost model on the test graph's directives:
// User.email @cost(weight: 5); Query.users @listSize(slicingArguments: ["first"])
// with first defaulting to 10; Query.usersPage sizes its edges by first, else
// assumes 25; User.reviews assumes 5. Objects weigh 1 (per subgraph resolving
// them), scalars 0, a list multiplies its element's cost (fields included),
// mutations add 10.
func TestCostEstimates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		want  int
	}{
		{"one object", `{ me { id } }`, nil, 1},
		{"weighted field", `{ me { id email } }`, nil, 1 + 5},
		{"scalar root field", `{ echoHeader(name: "x") }`, nil, 0},
		{"list sized by the argument's default", `{ users { id } }`, nil, 10 * 1},
		{"list sized by a literal first", `{ users(first: 3) { id email } }`, nil, 3 * (1 + 5)},
		{"list sized by a variable first", `query($n: Int) { users(first: $n) { id } }`, map[string]any{"n": 7}, 7},
		{"variable left null falls back to the default", `query($n: Int) { users(first: $n) { id } }`, nil, 10},
		// The User object is counted once per subgraph that resolves it: the
		// entity fetch from reviews is work of its own.
		{"nested list across subgraphs", `{ users(first: 2) { reviews { body } } }`, nil, 2 * (1 + 1 + 5*1)},
		{"connection sized by first", `{ usersPage(first: 4) { edges { cursor node { id email } } } }`, nil, 1 + 4*(1+1+5)},
		{"connection without first assumes its size", `{ usersPage { edges { node { id } } } }`, nil, 1 + 25*(1+1)},
		{"fragments count where spread", `{ ...Q } fragment Q on Query { users(first: 2) { ...U } a: users(first: 1) { ...U } } fragment U on User { email }`, nil, 2*(1+5) + 1*(1+5)},
		{"mutation base cost", `mutation { rename(input: {username: "x"}) { id } }`, nil, 10 + 1},
		{"introspection is free", `{ __schema { types { name fields { name } } } }`, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(tc.query, tc.vars, router.CostHeader, "true")
			require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
			require.Equal(t, map[string]any{"estimated": float64(tc.want), "limit": float64(5000)}, res.extensions()["cost"], string(res.Raw))
		})
	}

	res := e.post(`{ me { id } }`, nil)
	require.NotContains(t, string(res.Raw), `"cost"`, "the cost is only reported when asked for")
}

func TestCostCeilingRejectsBeforeAnySubgraphRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxCost = 100 })
	res := e.post(`query($n: Int) { users(first: $n) { email reviews { body } } }`, map[string]any{"n": 50})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	require.Equal(t, "COST_LIMIT_EXCEEDED", res.errorCode())
	require.Contains(t, res.errorMessage(), "ROUTER_MAX_COST")
	ext, _ := res.Errors[0]["extensions"].(map[string]any)
	require.Equal(t, map[string]any{"estimated": float64(50 * (1 + 1 + 5 + 5)), "limit": float64(100)}, ext["cost"])
	require.Nil(t, res.Data)
	require.Zero(t, e.accounts.Requests.Load()+e.reviews.Requests.Load(), "no subgraph saw the rejected operation")

	// The same operation with a smaller page is under the ceiling and runs.
	res = e.post(`query($n: Int) { users(first: $n) { email reviews { body } } }`, map[string]any{"n": 2})
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors)
	require.EqualValues(t, 1, e.accounts.Requests.Load())

	// Every response carries the cost when the router is configured to.
	exposed := setup(t, func(_ *env, c *router.Config) { c.ExposeCost = true })
	res = exposed.post(`{ me { email } }`, nil)
	require.Equal(t, map[string]any{"estimated": float64(6), "limit": float64(5000)}, res.extensions()["cost"], string(res.Raw))
}
