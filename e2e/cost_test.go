package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUsersCostsComposeThroughToTheRouter checks that the users SDL's @cost and
// @listSize reach the router's estimate through wgc composition.
func TestUsersCostsComposeThroughToTheRouter(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cost := func(query string) float64 {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Include-Cost", "true")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out struct {
			Extensions struct {
				Cost struct{ Estimated float64 } `json:"cost"`
			} `json:"extensions"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out.Extensions.Cost.Estimated
	}
	// login: mutation base 10 + @cost(weight: 100) in place of AuthPayload's 1.
	require.Equal(t, float64(110), cost(`mutation { login(email: "nobody@example.com", password: "wrong password") { accessToken } }`))
	// users: first defaults to 20 and sizes the edges (UserEdge 1 + User 1 each) plus the connection.
	require.Equal(t, float64(1+20*2), cost(`{ users { edges { node { id } } } }`))
	require.Equal(t, float64(1+5*2), cost(`{ users(first: 5) { edges { node { id roles } } } }`))
}
