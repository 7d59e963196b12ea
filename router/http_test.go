package router_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/router"
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

func TestRequestErrorsAre4xxWithClearMessages(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxRequestBytes = 4096; c.MaxBatchSize = 1 })
	valid := []byte(`{"query":"{ latestReview { body } }"}`)
	cases := []struct {
		name        string
		method      string
		contentType string
		body        string
		headers     []string
		status      int
		message     string
		code        string
	}{
		{"text/plain (CSRF simple request)", "POST", "text/plain", string(valid), nil, 415, "unsupported Content-Type", ""},
		{"form (CSRF simple request)", "POST", "application/x-www-form-urlencoded", "query=%7B__typename%7D", nil, 415, "unsupported Content-Type", ""},
		{"multipart without a preflight header (CSRF simple request)", "POST", "multipart/form-data; boundary=x", "--x--", nil, 400, "needs a non-empty Apollo-Require-Preflight", "BAD_REQUEST"},
		{"no content type", "POST", "", string(valid), nil, 415, "unsupported Content-Type", ""},
		{"latin-1 charset", "POST", "application/json; charset=latin1", string(valid), nil, 415, "unsupported charset", ""},
		{"malformed JSON", "POST", "application/json", `{"query": "{ me { id } }"`, nil, 400, "malformed JSON body", "BAD_REQUEST"},
		{"JSON but not an object", "POST", "application/json", `"{ me { id } }"`, nil, 400, "malformed JSON body", "BAD_REQUEST"},
		{"batch", "POST", "application/json", `[{"query":"{ me { id } }"}]`, nil, 400, "batched requests are not supported", "BAD_REQUEST"},
		{"query not a string", "POST", "application/json", `{"query": 42}`, nil, 400, "query must be a string", "BAD_REQUEST"},
		{"no query", "POST", "application/json", `{"variables": {}}`, nil, 400, "the request has no query", "BAD_REQUEST"},
		{"variables not an object", "POST", "application/json", `{"query":"{ me { id } }","variables":[1]}`, nil, 400, "variables must be a JSON object", "BAD_REQUEST"},
		{"parse error", "POST", "application/json", `{"query":"{ me { id "}`, nil, 400, "", "GRAPHQL_PARSE_FAILED"},
		{"unknown field", "POST", "application/json", `{"query":"{ nope }"}`, nil, 400, `Cannot query field "nope" on type "Query".`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown operation name", "POST", "application/json", `{"query":"query A { me { id } }","operationName":"B"}`, nil, 400, `unknown operation named "B"`, "BAD_REQUEST"},
		{"ambiguous operation", "POST", "application/json", `{"query":"query A { me { id } } query B { me { id } }"}`, nil, 400, "operationName is required", "BAD_REQUEST"},
		{"missing variable", "POST", "application/json", `{"query":"query($id: ID!) { user(id: $id) { id } }"}`, nil, 400, `Variable "$id" of required type "ID!" was not provided.`, "BAD_USER_INPUT"},
		{"wrong variable type", "POST", "application/json", `{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":"ten"}}`, nil, 400, `Variable "$n" got invalid value`, "BAD_USER_INPUT"},
		{"wrong input field", "POST", "application/json", `{"query":"mutation($i: RenameInput!) { rename(input: $i) { id } }","variables":{"i":{"name":"x"}}}`, nil, 400, `Variable "$i"`, "BAD_USER_INPUT"},
		{"too large", "POST", "application/json", `{"query":"{ me { id } }","variables":{"pad":"` + strings.Repeat("x", 5000) + `"}}`, nil, 413, "exceeds 4096 bytes", "PAYLOAD_TOO_LARGE"},
		{"method", "PUT", "application/json", string(valid), nil, 405, "method PUT is not allowed", "BAD_REQUEST"},
		{"not acceptable", "POST", "application/json", string(valid), []string{"Accept", "text/html"}, 406, "cannot answer with any media type", "BAD_REQUEST"},
		{"subscription over plain POST", "POST", "application/json", `{"query":"subscription { ticks(count: 1) { n } }"}`, nil, 400, "subscriptions need a WebSocket", "BAD_REQUEST"},
		{"bad GET variables", "GET", "", "", nil, 400, "variables parameter is not valid JSON", "BAD_REQUEST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/graphql"
			if tc.method == "GET" {
				path += "?" + url.Values{"query": {"{ me { id } }"}, "variables": {"{oops"}}.Encode()
			}
			headers := tc.headers
			if headers == nil {
				headers = modernAccept
			}
			res := e.do(tc.method, path, tc.contentType, []byte(tc.body), headers...)
			require.Equal(t, tc.status, res.Status, string(res.Raw))
			require.NotEmpty(t, res.Errors, string(res.Raw))
			require.Contains(t, res.errorMessage(), tc.message)
			if tc.code != "" {
				require.Equal(t, tc.code, res.errorCode(), string(res.Raw))
			}
			require.Nil(t, res.Data)
		})
	}
	require.EqualValues(t, 0, e.accounts.Requests.Load()+e.reviews.Requests.Load(), "rejected requests must not reach subgraphs")
}

func TestGraphQLResponseMediaType(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := []byte(`{"query":"{ latestReview { body } }"}`)
	for accept, want := range map[string]string{
		"":                                  "application/json",
		"*/*":                               "application/json",
		"application/json":                  "application/json",
		"application/graphql-response+json": "application/graphql-response+json",
		"application/graphql-response+json, application/json;q=0.9": "application/graphql-response+json",
		"application/json, application/graphql-response+json;q=0.5": "application/json",
	} {
		res := e.do("POST", "/graphql", "application/json", body, "Accept", accept)
		require.Equal(t, http.StatusOK, res.Status, accept)
		require.Equal(t, want+"; charset=utf-8", res.ContentType, accept)
		require.Equal(t, map[string]any{"body": "latest"}, res.Data["latestReview"])
	}
	// A field error is still a 200 with data (the request was valid).
	res := e.do("POST", "/graphql", "application/json", []byte(`{"query":"{ broken latestReview { body } }"}`), "Accept", "application/graphql-response+json")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"body": "latest"}, res.Data["latestReview"])
	require.Contains(t, res.errorMessage(), "the broken field is broken")
	ext, _ := res.Errors[0]["extensions"].(map[string]any)
	require.Equal(t, "accounts", ext["serviceName"], string(res.Raw))
}

func TestSubgraphDownGivesPartialDataAndNamesIt(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.stopAcc()
	start := time.Now()
	res := e.post(`query($id: ID!) { latestReview { body } user(id: $id) { id } }`, map[string]any{"id": e.userIDs()[0]})
	require.Less(t, time.Since(start), 3*time.Second, "a down subgraph must fail fast")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"body": "latest"}, res.Data["latestReview"])
	require.Nil(t, res.Data["user"])
	require.Contains(t, res.errorMessage(), "'accounts'", "the error names the subgraph that is down")
	require.Equal(t, "SUBGRAPH_UNAVAILABLE", res.errorCode(), string(res.Raw))
}

// GraphQL over HTTP: a client that only accepts application/json gets 200 for
// a well-formed request that fails to parse, validate or coerce its variables
// (such clients treat other statuses as transport failures); the errors still
// say what went wrong. Limits and malformed HTTP requests keep their 4xx.
func TestLegacyJSONClientsGet200ForGraphQLRequestErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxDepth = 3 })
	cases := []struct {
		name, query string
		vars        map[string]any
		status      int
		code        string
	}{
		{"parse error", `{ me { id `, nil, 200, "GRAPHQL_PARSE_FAILED"},
		{"validation error", `{ nope }`, nil, 200, "GRAPHQL_VALIDATION_FAILED"},
		{"variable coercion", `query($n: Int) { users(first: $n) { id } }`, map[string]any{"n": "ten"}, 200, "BAD_USER_INPUT"},
		{"document limit", `{ me { reviews { author { reviews { body } } } } }`, nil, 400, "OPERATION_LIMIT_EXCEEDED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.accounts.Requests.Load()
			res := e.post(tc.query, tc.vars, "Accept", "application/json")
			require.Equal(t, tc.status, res.Status, string(res.Raw))
			require.Equal(t, "application/json; charset=utf-8", res.ContentType)
			require.Equal(t, tc.code, res.errorCode(), string(res.Raw))
			require.NotContains(t, string(res.Raw), `"data"`, "a request that never executed has no data entry")
			require.Equal(t, before, e.accounts.Requests.Load(), "nothing reached a subgraph")

			for _, accept := range []string{modernAccept[1], "text/event-stream"} {
				res = e.post(tc.query, tc.vars, "Accept", accept)
				require.Equal(t, 400, res.Status, "%s: %s", accept, res.Raw)
				require.Equal(t, tc.code, res.errorCode(), string(res.Raw))
			}
		})
	}
}

func TestInaccessibleIsNeitherQueryableNorIntrospectable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := e.post(`{ adminSecret }`, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.errorCode())

	res = e.post(`query($id: ID!) { user(id: $id) { internalScore } }`, map[string]any{"id": e.userIDs()[0]}, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))

	res = e.post(`{ __type(name: "User") { fields { name } } __schema { queryType { fields { name } } } }`, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Contains(t, string(res.Raw), `"username"`)
	require.NotContains(t, string(res.Raw), "internalScore")
	require.NotContains(t, string(res.Raw), "adminSecret")
	require.NotContains(t, string(res.Raw), "_entities")
	require.NotContains(t, string(res.Raw), "_service")
	require.EqualValues(t, 0, e.accounts.Requests.Load(), "introspection is answered by the router")

	res = e.post(`{ _entities(representations: [{__typename: "User", id: "1"}]) { __typename } }`, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, "federation internals are not part of the client schema")
}
