package router_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/router"
)

func TestEveryAuthFailureIs401Unauthenticated(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)

	revokedJTI := e.issuer.token(id, func(o *tokenOpts) { o.jti = "revoked-jti" })
	revokedSID := e.issuer.token(id, func(o *tokenOpts) { o.sid = "revoked-sid" })
	require.NoError(t, e.deny.Set(context.Background(), identity.DenyTokenKey("revoked-jti"), "1", time.Hour).Err())
	require.NoError(t, e.deny.Set(context.Background(), identity.DenySessionKey("revoked-sid"), "1", time.Hour).Err())

	cases := []struct {
		name, authorization, message string
	}{
		{"garbage token", "Bearer not-a-jwt", "invalid access token"},
		{"empty bearer", "Bearer ", "invalid access token"},
		{"other scheme", "Basic dXNlcjpwYXNz", "invalid access token"},
		{"expired", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.ttl = -time.Minute }), "access token expired"},
		{"wrong issuer", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.issuer = "someone-else" }), "invalid access token"},
		{"wrong audience", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.audience = "other-app" }), "invalid access token"},
		{"unknown kid", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.kid = "nope"; o.key = otherKey }), "invalid access token"},
		{"forged signature", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.key = otherKey }), "invalid access token"},
		{"HMAC algorithm", "Bearer " + e.issuer.token(id, func(o *tokenOpts) { o.method = jwt.SigningMethodHS256 }), "invalid access token"},
		{"revoked token", "Bearer " + revokedJTI, "access token revoked"},
		{"revoked session", "Bearer " + revokedSID, "access token revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{"application/json", "application/graphql-response+json"} {
				res := e.post(`{ me { id } }`, nil, "Authorization", tc.authorization, "Accept", accept)
				require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Raw))
				require.Equal(t, "UNAUTHENTICATED", res.errorCode())
				require.Equal(t, tc.message, res.errorMessage())
				require.Nil(t, res.Data)
				require.Contains(t, res.ContentType, accept)
			}
		})
	}
	require.EqualValues(t, 0, e.accounts.Requests.Load(), "a rejected request must not reach a subgraph")
}

func TestJWKSRotationAndOutage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	res := e.post(`{ me { id } }`, nil, bearer(e.issuer.token(id))...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))

	// A key published after the router cached the JWKS: the unknown kid refetches.
	e.issuer.rotate()
	require.Eventually(t, func() bool {
		return e.post(`{ me { id } }`, nil, bearer(e.issuer.token(id))...).Status == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond)
}

func TestIdentityReachesSubgraphsOnlyAsAssertion(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[3]
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, err := identity.NewSigner(otherKey).Sign(identity.Principal{UserID: e.userIDs()[0], Roles: []string{"STAFF"}}, "accounts")
	require.NoError(t, err)
	traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

	// A client-supplied assertion is dropped, never forwarded.
	res := e.post(`{ me { id } a: echoHeader(name: "X-Internal-Assertion") }`, nil,
		"X-Internal-Assertion", forged, "X-User-Id", e.userIDs()[0])
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Nil(t, res.Data["me"])
	require.NotEqual(t, forged, res.Data["a"])
	require.NotEmpty(t, res.Data["a"], "anonymous requests carry an assertion too")

	res = e.post(`{ me { id }
		auth: echoHeader(name: "Authorization")
		uid: echoHeader(name: "X-User-Id")
		tp: echoHeader(name: "Traceparent")
		rid: echoHeader(name: "X-Request-Id") }`, nil,
		"Authorization", "Bearer "+e.issuer.token(id), "X-Internal-Assertion", forged, "X-User-Id", "x",
		"Traceparent", traceparent, "X-Request-Id", "req-123")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, map[string]any{"id": id}, res.Data["me"])
	require.Nil(t, res.Data["auth"], "the client's token is not forwarded")
	require.Nil(t, res.Data["uid"])
	require.Equal(t, traceparent, res.Data["tp"])
	require.Equal(t, "req-123", res.Data["rid"])
	require.Equal(t, "req-123", res.Header.Get("X-Request-Id"))

	// Malformed trace context is not forwarded (no header smuggling).
	res = e.post(`{ tp: echoHeader(name: "Traceparent") }`, nil, "Traceparent", `00-x","injected":"1`)
	require.Nil(t, res.Data["tp"])
}

// TestRouterStartedBeforeItsKeySet: a router that cannot fetch the users
// service's key set at start keeps trying in the background with backoff.
// Meanwhile it reports itself not ready and answers signed-in requests 503
// with Retry-After (retry), never 401 (sign in again); anonymous requests are
// served. Once the key set answers, tokens work without any client action.
func TestRouterStartedBeforeItsKeySet(t *testing.T) {
	t.Parallel()
	e := setup(t, func(e *env, _ *router.Config) { e.issuer.setDown(true) })
	id := e.userIDs()[0]
	tok := bearer(e.issuer.token(id))

	status, body := e.health("/health/ready")
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.Contains(t, body["reason"], "JWKS")
	r := e.post(`{ me { id } }`, nil, tok...)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Raw))
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	require.Equal(t, "INTERNAL_SERVER_ERROR", r.errorCode(), string(r.Raw))
	r = e.post(`{ __typename }`, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))

	e.issuer.setDown(false)
	require.Eventually(t, func() bool {
		status, _ := e.health("/health/ready")
		return status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "the key set was not fetched again")
	r = e.post(`{ me { id } }`, nil, tok...)
	require.Empty(t, r.Errors, string(r.Raw))
	require.Equal(t, id, r.Data["me"].(map[string]any)["id"])
}

// TestAssertionIsBoundToItsSubgraph: the assertion a subgraph receives is
// valid at that subgraph only, so it cannot be replayed at another one.
func TestAssertionIsBoundToItsSubgraph(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.userIDs()[0]
	r := e.post(`{ echoHeader(name: "X-Internal-Assertion") }`, nil, bearer(e.issuer.token(id, func(o *tokenOpts) { o.roles = []string{"STAFF"} }))...)
	require.Empty(t, r.Errors, string(r.Raw))
	assertion, _ := r.Data["echoHeader"].(string)
	require.NotEmpty(t, assertion)

	p, err := identity.NewVerifier(e.routerPub, "accounts").Verify(assertion)
	require.NoError(t, err)
	require.Equal(t, id, p.UserID)
	_, err = identity.NewVerifier(e.routerPub, "reviews").Verify(assertion)
	require.ErrorIs(t, err, identity.ErrInvalid)
}
