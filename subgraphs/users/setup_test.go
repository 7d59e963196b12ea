package users_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/subgraphs/users"
	"supergraph/subgraphs/users/account"
)

// env is one users service on its own database and Redis.
type env struct {
	*subgraphtest.Env
	app *users.App
}

type setupOption func(*users.Config)

func setup(t *testing.T, opts ...setupOption) *env {
	t.Helper()
	base := subgraphtest.New(t, "users", 1)
	cfg := users.DefaultConfig()
	cfg.Subgraph = base.Config
	cfg.PasswordHashMemoryKiB = 8 * 1024 // fast hashing keeps the suite quick
	for _, o := range opts {
		o(&cfg)
	}
	app, err := users.New(context.Background(), cfg, base.Log)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	base.Serve(app.Serve)
	return &env{Env: base, app: app}
}

// as turns an access token into the assertion the router would send, after
// verifying the token against the service's published JWKS.
func (e *env) as(accessToken string) subgraphtest.Caller {
	e.T.Helper()
	claims := e.verifyAccessToken(accessToken)
	exp, _ := claims.GetExpirationTime()
	return e.As(identity.Principal{
		UserID: claims.Subject, Roles: claims.Roles, TokenID: claims.ID,
		SessionID: claims.SessionID, TokenExpiresAt: exp.Unix(),
	})
}

func (e *env) verifyAccessToken(token string) *account.AccessClaims {
	e.T.Helper()
	resp, err := http.Get(e.URL + "/.well-known/jwks.json")
	require.NoError(e.T, err)
	defer resp.Body.Close()
	require.Equal(e.T, http.StatusOK, resp.StatusCode)
	var set jwkset.JWKSMarshal
	require.NoError(e.T, json.NewDecoder(resp.Body).Decode(&set))
	storage, err := set.ToStorage()
	require.NoError(e.T, err)
	var claims account.AccessClaims
	_, err = jwt.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		jwk, err := storage.KeyRead(context.Background(), tok.Header["kid"].(string))
		if err != nil {
			return nil, err
		}
		return jwk.Key(), nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("supergraph-users"), jwt.WithAudience("supergraph"))
	require.NoError(e.T, err)
	return &claims
}

// session is a signed-in test user.
type session struct {
	ID, Username, Email string
	Access, Refresh     string
}

const registerMutation = `mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresAt user { id username email displayName roles createdAt } }
}`

const testPassword = "correct horse battery"

func (e *env) register(username string, roles ...string) session {
	e.T.Helper()
	if roles == nil {
		roles = []string{}
	}
	r := e.Do(e.Anonymous(), registerMutation, map[string]any{"input": map[string]any{
		"email": username + "@example.com", "username": username, "password": testPassword, "roles": roles,
	}}).NoErrors(e.T)
	return toSession(r.Data["register"])
}

func toSession(v any) session {
	m := v.(map[string]any)
	u := m["user"].(map[string]any)
	email, _ := u["email"].(string)
	return session{ID: u["id"].(string), Username: u["username"].(string), Email: email,
		Access: m["accessToken"].(string), Refresh: m["refreshToken"].(string)}
}

// staff registers a user and grants STAFF directly in the database (the
// bootstrap path: STAFF can only be granted by STAFF), then signs in again so
// the access token carries the role.
func (e *env) staff(username string) session {
	e.T.Helper()
	s := e.register(username)
	_, err := e.DB.Exec(context.Background(), "UPDATE users SET roles = array_append(roles, 'STAFF') WHERE id = $1", s.ID)
	require.NoError(e.T, err)
	r := e.Do(e.Anonymous(), `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken expiresAt user { id username email displayName roles createdAt } } }`,
		map[string]any{"e": s.Email, "p": testPassword}).NoErrors(e.T)
	return toSession(r.Data["login"])
}
