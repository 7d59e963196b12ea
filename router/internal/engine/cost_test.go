package engine

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/apperr"
)

// The test graph's cost directives (router/testdata): User.email
// @cost(weight: 5); Query.users @listSize(slicingArguments: ["first"]) with
// first defaulting to 10; Query.usersPage sizes its edges by first, else
// assumes 25; User.reviews (from the reviews subgraph) assumes 5.
const testGraph = "../../testdata/config.json"

// costEngine builds an engine over the test graph, its composed config first
// passed through edit when given (to take a directive away or change one).
func costEngine(t *testing.T, opts Options, edit func(costs map[string]*costJSON)) *Engine {
	t.Helper()
	path := testGraph
	if edit != nil {
		path = editedCosts(t, edit)
	}
	g, err := ReadGraph(path)
	require.NoError(t, err)
	e, err := New(g, opts)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

// editedCosts writes the test graph's config with its cost configurations
// (by data source id) passed through edit.
func editedCosts(t *testing.T, edit func(map[string]*costJSON)) string {
	t.Helper()
	data, err := os.ReadFile(testGraph)
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(data, &cfg))
	costs := map[string]*costJSON{}
	dss := cfg["engineConfig"].(map[string]any)["datasourceConfigurations"].([]any)
	for _, ds := range dss {
		ds := ds.(map[string]any)
		c := &costJSON{}
		if raw, ok := ds["costConfiguration"]; ok {
			b, err := json.Marshal(raw)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, c))
		}
		costs[ds["id"].(string)] = c
	}
	edit(costs)
	for _, ds := range dss {
		ds := ds.(map[string]any)
		ds["costConfiguration"] = costs[ds["id"].(string)]
	}
	out, err := json.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

func estimate(t *testing.T, e *Engine, query string, vars string) (int, error) {
	t.Helper()
	op, err := e.Prepare(Request{Query: query, Variables: []byte(vars)})
	require.NoError(t, err, query)
	return e.Estimate(op)
}

// TestCostModel pins the static cost model on the test graph: objects weigh 1
// per subgraph that resolves them, scalars and enums 0 unless weighted, a
// list multiplies its element's cost (nested fields included) by its size,
// fragments count where they are spread, and mutations add a base cost.
func TestCostModel(t *testing.T) {
	t.Parallel()
	// A default list size unlike the schema's argument default (10), so the
	// two cannot be mistaken for each other.
	e := costEngine(t, Options{MutationBaseCost: 10, DefaultListSize: 2}, nil)
	cases := []struct {
		name, query, vars string
		want              int
	}{
		{"one object", `{ me { id } }`, ``, 1},
		{"weighted field", `{ me { id email } }`, ``, 1 + 5},
		{"scalar root field", `{ echoHeader(name: "x") }`, ``, 0},
		{"__typename is free", `{ me { __typename } }`, ``, 1},
		{"list sized by the slicing argument's default", `{ users { id } }`, ``, 10},
		{"list sized by a literal slicing argument", `{ users(first: 3) { id email } }`, ``, 3 * (1 + 5)},
		{"list sized by a variable", `query($n: Int) { users(first: $n) { id } }`, `{"n":7}`, 7},
		{"variable left out falls back to the default", `query($n: Int) { users(first: $n) { id } }`, ``, 10},
		{"variable null falls back to the default", `query($n: Int) { users(first: $n) { id } }`, `{"n":null}`, 10},
		{"variable default", `query($n: Int = 4) { users(first: $n) { id } }`, ``, 4},
		// The library takes only a positive slicing argument as the size:
		// first: 0 is priced as if left out. An overestimate, so harmless.
		{"first: 0 is priced as the default", `{ users(first: 0) { id email } }`, ``, 10 * (1 + 5)},
		{"assumed size", `{ me { reviews { id } } }`, ``, 1 + 1 + 5*1},
		// The User object counts once per subgraph resolving it: the entity
		// fetch from reviews is work of its own.
		{"nested lists multiply", `{ users(first: 3) { email reviews { body } } }`, ``, 3 * (1 + 5 + 1 + 5*1)},
		{"sized fields take the slicing argument", `{ usersPage(first: 4) { edges { cursor node { id email } } } }`, ``, 1 + 4*(1+1+5)},
		{"sized fields without the argument assume", `{ usersPage { edges { node { id } } } }`, ``, 1 + 25*(1+1)},
		{"sized fields by a variable", `query($n: Int) { usersPage(first: $n) { edges { node { id } } } }`, `{"n":2}`, 1 + 2*(1+1)},
		{"aliases each count", `{ a: users(first: 2) { id } b: users(first: 3) { email } }`, ``, 2*1 + 3*(1+5)},
		{"fragments count where spread",
			`{ ...Q } fragment Q on Query { users(first: 2) { ...U } a: users(first: 1) { ...U } } fragment U on User { email }`, ``,
			2*(1+5) + 1*(1+5)},
		{"inline fragments", `{ ... on Query { users(first: 2) { ... on User { email } } } }`, ``, 2 * (1 + 5)},
		{"@skip(if: true) leaves the field out", `{ me { id email @skip(if: true) } }`, ``, 1},
		{"@include(if: false) leaves the field out", `{ me { id email @include(if: false) } }`, ``, 1},
		{"@skip by a variable, true", `query($s: Boolean!) { me { id email @skip(if: $s) } }`, `{"s":true}`, 1},
		{"@skip by a variable, false", `query($s: Boolean!) { me { id email @skip(if: $s) } }`, `{"s":false}`, 1 + 5},
		{"@include on a list", `query($i: Boolean!) { me { id reviews @include(if: $i) { id } } }`, `{"i":false}`, 1},
		{"mutation base cost", `mutation { rename(input: {username: "x"}) { id } }`, ``, 10 + 1},
		{"introspection is free", `{ __schema { types { name fields { name } } } }`, ``, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := estimate(t, e, tc.query, tc.vars)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestCostVariesWithVariablesOfOneDocument: the plan (and its cost tree) is
// cached per document, the estimate is per request: the same document with
// other slicing variables costs what they say, in any order.
func TestCostVariesWithVariablesOfOneDocument(t *testing.T) {
	t.Parallel()
	e := costEngine(t, Options{}, nil)
	const q = `query($n: Int, $m: Int) { users(first: $n) { id } usersPage(first: $m) { edges { node { id } } } }`
	for _, tc := range []struct {
		vars string
		want int
	}{
		{`{"n":2,"m":3}`, 2 + 1 + 3*2},
		{`{"n":50,"m":1}`, 50 + 1 + 1*2},
		{`{}`, 10 + 1 + 25*2},
		{`{"n":2,"m":3}`, 2 + 1 + 3*2},
	} {
		got, err := estimate(t, e, q, tc.vars)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.vars)
	}
}

func TestCostOptions(t *testing.T) {
	t.Parallel()
	t.Run("mutation base cost", func(t *testing.T) {
		t.Parallel()
		for base, want := range map[int]int{0: 1, 3: 4, -5: 1} {
			e := costEngine(t, Options{MutationBaseCost: base}, nil)
			got, err := estimate(t, e, `mutation { rename(input: {username: "x"}) { id } }`, ``)
			require.NoError(t, err)
			require.Equal(t, want, got, "base %d", base)
		}
	})
	t.Run("default list size", func(t *testing.T) {
		t.Parallel()
		// Without User.reviews' @listSize its size is the default list size.
		noReviewsSize := func(costs map[string]*costJSON) { costs["1"].ListSizes = nil }
		const q = `{ users(first: 2) { reviews { id } } }`
		e := costEngine(t, Options{DefaultListSize: 3}, noReviewsSize)
		got, err := estimate(t, e, q, ``)
		require.NoError(t, err)
		require.Equal(t, 2*(1+1+3*1), got)

		e = costEngine(t, Options{}, noReviewsSize)
		got, err = estimate(t, e, q, ``)
		require.NoError(t, err)
		require.Equal(t, 2*(1+1+10*1), got, "10 unless configured")
	})
	t.Run("a weight on a scalar type", func(t *testing.T) {
		t.Parallel()
		e := costEngine(t, Options{}, func(costs map[string]*costJSON) {
			costs["0"].TypeWeights = map[string]int{"String": 2}
		})
		got, err := estimate(t, e, `{ me { id username } }`, ``)
		require.NoError(t, err)
		require.Equal(t, 1+2, got)
	})
	t.Run("required slicing argument", func(t *testing.T) {
		t.Parallel()
		e := costEngine(t, Options{}, func(costs map[string]*costJSON) {
			for i := range costs["0"].ListSizes {
				if costs["0"].ListSizes[i].FieldName == "usersPage" {
					costs["0"].ListSizes[i].RequireOneSlicingArgument = true
				}
			}
		})
		got, err := estimate(t, e, `{ usersPage(first: 2) { edges { cursor } } }`, ``)
		require.NoError(t, err)
		require.Equal(t, 1+2*1, got)

		_, err = estimate(t, e, `{ usersPage { edges { cursor } } }`, ``)
		var rerr *RequestError
		require.ErrorAs(t, err, &rerr)
		require.Equal(t, http.StatusBadRequest, rerr.Status)
		require.Equal(t, apperr.CodeValidationFailed, rerr.Errors[0].Extensions["code"])
	})
}

// TestCostOfHugeNestedListsIsNotFree: nested lists with the largest Int as
// their slicing arguments must cost at least as much as one of them alone.
// graphql-go-tools (rc.270) multiplies in float64 and converts the product
// to int; past 2^63 that conversion yields a negative number, which it then
// clamps to 0, so the deeper list was estimated as free. The engine now
// estimates slicing arguments at most at Options.MaxListSize.
func TestCostOfHugeNestedListsIsNotFree(t *testing.T) {
	t.Parallel()
	g, err := ReadGraph("../../../graph/config.json")
	require.NoError(t, err)
	e, err := New(g, Options{})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	one, err := estimate(t, e, `{ users(first: 2147483647) { edges { node { id } } } }`, ``)
	require.NoError(t, err)
	nested, err := estimate(t, e, `{ users(first: 2147483647) { edges { node { gigs(first: 2147483647) { edges { node { id } } } } } } }`, ``)
	require.NoError(t, err)
	require.Greater(t, nested, one)
}
