package router_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueryAnonymousAndSignedIn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]

	res := e.post(`{ me { id } }`, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"me": nil}, res.Data)

	res = e.post(`{ me { id username } }`, nil, bearer(e.issuer.token(id))...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors)
	require.Equal(t, map[string]any{"id": id, "username": "ada"}, res.Data["me"])
	require.Equal(t, "application/json; charset=utf-8", res.ContentType)
	require.NotEmpty(t, res.Header.Get("X-Request-Id"))
}

func TestCrossSubgraphEntityJoin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[1]
	res := e.post(`query($id: ID!) { user(id: $id) { username reviews { body } } }`, map[string]any{"id": id})
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors)
	require.Equal(t, map[string]any{"username": "bob", "reviews": []any{map[string]any{"body": "review of " + id}}}, res.Data["user"])
	require.EqualValues(t, 1, e.reviews.EntityRequests.Load())
}

func TestGET(t *testing.T) {
	t.Parallel()
	e := setup(t)
	q := url.Values{"query": {`query Q($id: ID!) { user(id: $id) { username } }`}, "variables": {`{"id":"` + e.userIDs()[2] + `"}`}, "operationName": {"Q"}}
	res := e.do(http.MethodGet, "/graphql?"+q.Encode(), "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"username": "cyd"}, res.Data["user"])

	before := e.accounts.Requests.Load()
	q = url.Values{"query": {`mutation { rename(input: {username: "x"}) { id } }`}}
	res = e.do(http.MethodGet, "/graphql?"+q.Encode(), "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, res.Status, string(res.Raw))
	require.Equal(t, "POST", res.Header.Get("Allow"))
	require.Contains(t, res.errorMessage(), "mutations are not allowed over GET")
	require.EqualValues(t, before, e.accounts.Requests.Load(), "a mutation over GET must never reach a subgraph")
}
