package router_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// introspectionQuery is graphql-js 16's getIntrospectionQuery(), what GraphiQL
// sends: the document limits' defaults must let it through.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestDocumentLimits(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) {
		c.MaxDepth = 4
		c.MaxAliases = 3
		c.MaxRootFields = 3
		c.MaxTokens = 200
		c.MaxDirectives = 3
		c.MaxBatchSize = 3
	})
	id := e.userIDs()[0]
	cases := []struct {
		name, query string
		setting     string
	}{
		{"depth", `query($id: ID!) { user(id: $id) { reviews { id } } __type(name: "User") { ofType { ofType { ofType { name } } } } }`, "ROUTER_MAX_DEPTH"},
		{"depth through fragments", `query($id: ID!) { __type(name: "User") { ...A } } fragment A on __Type { ofType { ...B } } fragment B on __Type { ofType { ofType { name } } }`, "ROUTER_MAX_DEPTH"},
		{"aliases", `{ a: latestReview { id } b: latestReview { id } c: latestReview { id } d: latestReview { id } }`, "ROUTER_MAX_ALIASES"},
		{"aliases counted per fragment spread", `{ latestReview { ...R } x: latestReview { ...R } } fragment R on Review { a: id b: body }`, "ROUTER_MAX_ALIASES"},
		{"root fields", `{ latestReview { id } me { id } users { id } __typename }`, "ROUTER_MAX_ROOT_FIELDS"},
		{"root fields in fragments", `{ ...Q ...Q } fragment Q on Query { latestReview { id } me { id } }`, "ROUTER_MAX_ROOT_FIELDS"},
		{"tokens", `{ latestReview { ` + strings.Repeat("id ", 200) + `} }`, "ROUTER_MAX_TOKENS"},
		{"directives", `{ latestReview @include(if: true) { id @skip(if: false) body @skip(if: false) @include(if: true) } }`, "ROUTER_MAX_DIRECTIVES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(tc.query, map[string]any{"id": id})
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
			require.Equal(t, "OPERATION_LIMIT_EXCEEDED", res.errorCode(), string(res.Raw))
			require.Contains(t, res.errorMessage(), tc.setting)
			require.Nil(t, res.Data)
		})
	}

	require.Zero(t, e.accounts.Requests.Load()+e.reviews.Requests.Load(), "rejected documents never reach a subgraph")

	t.Run("within every limit", func(t *testing.T) {
		res := e.post(`query($id: ID!) { a: user(id: $id) { reviews { body } } b: latestReview @include(if: true) { id } }`, map[string]any{"id": id})
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		require.Empty(t, res.Errors)
	})

	t.Run("batch", func(t *testing.T) {
		item := `{"query":"{ latestReview { body } }"}`
		res := e.do("POST", "/graphql", "application/json", []byte("["+item+`,{"query":"{ nope }"}]`))
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		var out []struct {
			Data   map[string]any   `json:"data"`
			Errors []map[string]any `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(res.Raw, &out), string(res.Raw))
		require.Len(t, out, 2)
		require.Equal(t, map[string]any{"body": "latest"}, out[0].Data["latestReview"])
		require.NotEmpty(t, out[1].Errors, "an invalid item fails alone")

		res = e.do("POST", "/graphql", "application/json", []byte("["+strings.Repeat(item+",", 3)+item+"]"))
		require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
		require.Contains(t, res.errorMessage(), "ROUTER_MAX_BATCH_SIZE")
		require.Equal(t, "OPERATION_LIMIT_EXCEEDED", res.errorCode())
	})
}

// A fragment bomb: each fragment spreads the next ten times, 10^12 fields once
// inlined. It must be refused while the router is still counting, fast.
func TestFragmentBombIsRefusedCheaply(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var b strings.Builder
	b.WriteString(`{ latestReview { ...F0 } }`)
	for i := range 12 {
		fmt.Fprintf(&b, " fragment F%d on Review {", i)
		for j := range 10 {
			fmt.Fprintf(&b, " a%d: id", j)
		}
		for range 10 {
			fmt.Fprintf(&b, " ...F%d", i+1)
		}
		b.WriteString(" }")
	}
	b.WriteString(" fragment F12 on Review { id }")
	start := time.Now()
	res := e.post(b.String(), nil)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	require.Contains(t, res.errorMessage(), "ROUTER_MAX_ALIASES")

	res = e.post(`{ latestReview { ...A } } fragment A on Review { ...B } fragment B on Review { ...A }`, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
}

func TestIntrospectionSwitch(t *testing.T) {
	t.Parallel()
	on := setup(t)
	res := on.post(introspectionQuery, nil)
	require.Equal(t, http.StatusOK, res.Status, "the default limits admit GraphiQL's introspection query: %s", res.Raw)
	require.Empty(t, res.Errors)

	off := setup(t, func(_ *env, c *router.Config) { c.Introspection = false })
	for _, q := range []string{introspectionQuery, `{ __type(name: "User") { name } }`, `{ ...I } fragment I on Query { __schema { queryType { name } } }`} {
		res := off.post(q, nil, modernAccept...)
		require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
		require.Contains(t, res.errorMessage(), "introspection is disabled")
	}
	res = off.post(`{ __typename latestReview { __typename body } }`, nil)
	require.Equal(t, http.StatusOK, res.Status, "__typename is not introspection: %s", res.Raw)
}
