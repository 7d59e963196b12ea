package router_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentIdenticalQueriesNeverMixUsers is the guard against the engine's
// request de-duplication handing one user's answer to another: 1,000 identical
// operations at once, as 5 different users (and anonymously), every answer must
// belong to its asker. The entity join makes the subgraph fetches identical too.
func TestConcurrentIdenticalQueriesNeverMixUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	tokens := make([]string, len(ids))
	for i, id := range ids {
		tokens[i] = e.issuer.token(id)
	}
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 200, MaxIdleConnsPerHost: 200}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(map[string]any{"query": `{ me { id username reviews { body } } }`})

	const n = 1200
	start := make(chan struct{})
	var wg sync.WaitGroup
	type answer struct {
		asker string
		got   map[string]any
		err   error
		code  int
	}
	answers := make([]answer, n)
	for i := range n {
		wg.Go(func() {
			user := i % (len(ids) + 1) // the last slot is anonymous
			req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			asker := ""
			if user < len(ids) {
				asker = ids[user]
				req.Header.Set("Authorization", "Bearer "+tokens[user])
			}
			<-start
			resp, err := client.Do(req)
			if err != nil {
				answers[i] = answer{asker: asker, err: err}
				return
			}
			defer resp.Body.Close()
			var out struct {
				Data map[string]any `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			answers[i] = answer{asker: asker, got: out.Data, err: err, code: resp.StatusCode}
		})
	}
	close(start)
	wg.Wait()

	for i, a := range answers {
		require.NoError(t, a.err, "request %d", i)
		require.Equal(t, http.StatusOK, a.code, "request %d", i)
		if a.asker == "" {
			require.Nil(t, a.got["me"], "request %d: anonymous got someone's data", i)
			continue
		}
		me, _ := a.got["me"].(map[string]any)
		require.NotNil(t, me, "request %d", i)
		require.Equal(t, a.asker, me["id"], "request %d: answer belongs to another user", i)
		require.Equal(t, e.users[a.asker]["username"], me["username"], "request %d", i)
		require.Equal(t, []any{map[string]any{"body": "review of " + a.asker}}, me["reviews"], "request %d", i)
	}
	t.Logf("%d client requests, %d accounts requests, %d reviews requests (fewer means de-duplication was at work)",
		n, e.accounts.Requests.Load(), e.reviews.Requests.Load())
}
