package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/router"
	"supergraph/router/testgraph"
	"supergraph/subgraphs/users"
)

// env is the users subgraph, a test-only badges subgraph and the router.
type env struct {
	t      testing.TB
	url    string // the router
	users  *subgraphtest.Env
	badges *testgraph.Subgraph
}

func setup(t testing.TB) *env {
	t.Helper()
	base := subgraphtest.New(t, "users", 1)
	cfg := users.DefaultConfig()
	cfg.Subgraph = base.Config
	cfg.PasswordHashMemoryKiB = 8 * 1024 // fast hashing keeps the suite quick
	app, err := users.New(context.Background(), cfg, base.Log)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	base.Serve(app.Serve)

	verifier, err := subgraphtestVerifier(base)
	require.NoError(t, err)
	badges := badgesSubgraph(verifier)
	badgeSrv := httptest.NewServer(badges)
	t.Cleanup(badgeSrv.Close)

	key, err := keys.EncodePrivate(base.RouterKey)
	require.NoError(t, err)
	rcfg := router.DefaultConfig()
	rcfg.GraphConfig = "testdata/config.json"
	rcfg.SubgraphURLs = map[string]string{"users": base.URL + "/graphql", "badges": badgeSrv.URL + "/graphql"}
	rcfg.JWKSURL = base.URL + "/.well-known/jwks.json"
	rcfg.DenyListRedisURL = base.Config.RedisURL // the users service's DB 1
	rcfg.RedisURL = base.RedisServer.URL(0)
	rcfg.AssertionKey = string(key)
	rcfg.DevDir = t.TempDir()
	r, err := router.New(rcfg, base.Log)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, r.Close())
	})
	return &env{t: t, url: "http://" + ln.Addr().String(), users: base, badges: badges}
}

// number reads an Int argument: a literal parses as int64, a variable (the
// router sends literals as variables) decodes from JSON as float64.
func number(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

// badgesSubgraph is a test-only subgraph extending User (entity join) with a
// subscription (the playground test).
func badgesSubgraph(verifier *identity.Verifier) *testgraph.Subgraph {
	return &testgraph.Subgraph{
		Name:     "badges",
		Verifier: verifier,
		Query: map[string]testgraph.Field{
			"badgeCount": func(testgraph.Ctx, map[string]any) (any, error) { return 1, nil },
		},
		Subscription: map[string]testgraph.Stream{
			"badgeAwarded": func(c testgraph.Ctx, a map[string]any) (<-chan map[string]any, error) {
				count, interval := number(a["count"]), number(a["intervalMs"])
				var viewer any
				if !c.Principal.Anonymous() {
					viewer = c.Principal.UserID
				}
				ch := make(chan map[string]any)
				go func() {
					defer close(ch)
					for i := int64(1); i <= count; i++ {
						select {
						case <-c.Done():
							return
						case <-time.After(time.Duration(interval) * time.Millisecond):
						}
						select {
						case <-c.Done():
							return
						case ch <- map[string]any{"__typename": "Badge", "name": fmt.Sprintf("badge-%d", i), "grantedFor": viewer}:
						}
					}
				}()
				return ch, nil
			},
		},
		Entities: map[string]testgraph.Entity{
			"User": func(c testgraph.Ctx, rep map[string]any) (map[string]any, error) {
				var viewer any
				if !c.Principal.Anonymous() {
					viewer = c.Principal.UserID
				}
				return map[string]any{"id": rep["id"], "badges": []map[string]any{
					{"__typename": "Badge", "name": fmt.Sprintf("early-%v", rep["id"]), "grantedFor": viewer},
				}}, nil
			},
		},
	}
}

type result struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
}

func (e *env) gql(url, token, query string, vars map[string]any) result {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var r result
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&r))
	r.Status = resp.StatusCode
	return r
}

func (e *env) router(token, query string, vars map[string]any) result {
	e.t.Helper()
	return e.gql(e.url+"/graphql", token, query, vars)
}

const authFields = `accessToken refreshToken expiresAt user { id username email roles }`

func (e *env) register(name string) (id, access, refresh string) {
	e.t.Helper()
	r := e.router("", `mutation($in: RegisterInput!) { register(input: $in) { `+authFields+` } }`, map[string]any{
		"in": map[string]any{"email": name + "@example.com", "username": name, "password": "correct horse battery", "roles": []string{"FREELANCER"}},
	})
	require.Equal(e.t, http.StatusOK, r.Status)
	require.Empty(e.t, r.Errors)
	p := r.Data["register"].(map[string]any)
	return p["user"].(map[string]any)["id"].(string), p["accessToken"].(string), p["refreshToken"].(string)
}

func TestUsersThroughRouter(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, access, refresh := e.register("ada_lovelace")

	r := e.router(access, `{ me { id username email roles } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"id": id, "username": "ada_lovelace", "email": "ada_lovelace@example.com", "roles": []any{"FREELANCER"}}, r.Data["me"])

	r = e.router("", `{ me { id } }`, nil)
	require.Equal(t, map[string]any{"me": nil}, r.Data, "anonymous")

	r = e.router("", `query($u: String!) { userByUsername(username: $u) { id email } }`, map[string]any{"u": "ada_lovelace"})
	require.Equal(t, map[string]any{"id": id, "email": nil}, r.Data["userByUsername"], "e-mail is private")

	r = e.router(access, `mutation { updateProfile(input: {bio: "Analyst", skills: ["math"]}) { profile { bio skills } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"bio": "Analyst", "skills": []any{"math"}}, r.Data["updateProfile"].(map[string]any)["profile"])

	r = e.router("", `mutation { updateProfile(input: {bio: "x"}) { id } }`, nil)
	require.NotEmpty(t, r.Errors)
	require.Equal(t, "UNAUTHENTICATED", r.Errors[0].Extensions["code"])
	require.Equal(t, "users", r.Errors[0].Extensions["serviceName"])

	r = e.router(access, `{ users { edges { node { id } } } }`, nil)
	require.NotEmpty(t, r.Errors)
	require.Equal(t, "FORBIDDEN", r.Errors[0].Extensions["code"])

	r = e.router("", `mutation($r: String!) { refreshToken(refreshToken: $r) { `+authFields+` } }`, map[string]any{"r": refresh})
	require.Empty(t, r.Errors)
	access2 := r.Data["refreshToken"].(map[string]any)["accessToken"].(string)
	refresh2 := r.Data["refreshToken"].(map[string]any)["refreshToken"].(string)

	r = e.router("", `mutation($e: String!) { login(email: $e, password: "correct horse battery") { `+authFields+` } }`, map[string]any{"e": "ada_lovelace@example.com"})
	require.Empty(t, r.Errors)

	// Logout revokes the access token in use: the router refuses it from then on.
	r = e.router(access2, `mutation($r: String!) { logout(refreshToken: $r) }`, map[string]any{"r": refresh2})
	require.Empty(t, r.Errors)
	require.Equal(t, true, r.Data["logout"])
	r = e.router(access2, `{ me { id } }`, nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "UNAUTHENTICATED", r.Errors[0].Extensions["code"])
}

func TestCrossSubgraphEntityJoin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, access, _ := e.register("grace_hopper")
	r := e.router(access, `{ me { username badges { name grantedFor } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"username": "grace_hopper", "badges": []any{
		map[string]any{"name": "early-" + id, "grantedFor": id},
	}}, r.Data["me"])
	require.EqualValues(t, 1, e.badges.EntityRequests.Load())
}
