package e2e_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

func subgraphtestVerifier(base *subgraphtest.Env) (*identity.Verifier, error) {
	return identity.NewVerifier(base.RouterKey.Public().(ed25519.PublicKey)), nil
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
