package users_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/pg"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx/redistest"
	"supergraph/subgraphs/users"
	"supergraph/subgraphs/users/account"
)

// env is one users service on a fresh database and a private Redis, served
// over a real socket, plus a router stand-in that mints assertions.
type env struct {
	t      *testing.T
	url    string
	app    *users.App
	db     *pgxpool.Pool
	rdb    *redis.Client
	redis  *redistest.Server
	signer *identity.Signer
	// routerKey is the router stand-in's signing key.
	routerKey ed25519.PrivateKey
}

type setupOption func(*users.Config)

func setup(t *testing.T, opts ...setupOption) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	redisSrv := redistest.Start(t)

	routerPub, routerKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pubPEM, err := keys.EncodePublic(routerPub)
	require.NoError(t, err)

	cfg := users.DefaultConfig()
	cfg.DatabaseURL = pgtest.URL(t, "users")
	cfg.RedisURL = redisSrv.URL(1)
	cfg.QueueRedisURL = redisSrv.URL(3)
	cfg.DevDir = t.TempDir()
	cfg.AssertionPublicKey = string(pubPEM)
	cfg.PasswordHashMemoryKiB = 8 * 1024 // fast hashing keeps the suite quick
	cfg.ShutdownTimeout = 5 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := users.New(ctx, cfg, log)
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		app.Close()
	})

	db, err := pg.Open(context.Background(), cfg.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	rdb := redis.NewClient(mustParseRedis(t, redisSrv.URL(1)))
	t.Cleanup(func() { rdb.Close() })
	return &env{t: t, url: "http://" + ln.Addr().String(), app: app, db: db, rdb: rdb, redis: redisSrv,
		signer: identity.NewSigner(routerKey), routerKey: routerKey}
}

func mustParseRedis(t *testing.T, url string) *redis.Options {
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	return opts
}

// gqlResponse is a GraphQL response with errors kept structured.
type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// code returns the extensions.code of the only error.
func (r gqlResponse) code(t *testing.T) string {
	t.Helper()
	require.Len(t, r.Errors, 1, "want exactly one error, got %+v", r.Errors)
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

func (r gqlResponse) noErrors(t *testing.T) gqlResponse {
	t.Helper()
	require.Empty(t, r.Errors)
	return r
}

// caller is who a request is made as: nil header means no assertion at all.
type caller struct {
	assertion string
}

// anonymous comes through the router without a signed-in user.
func (e *env) anonymous() caller {
	a, err := e.signer.Sign(identity.Principal{})
	require.NoError(e.t, err)
	return caller{assertion: a}
}

// direct bypasses the router: no assertion.
func (e *env) direct() caller { return caller{} }

// as turns an access token into the assertion the router would send, after
// verifying the token against the service's published JWKS.
func (e *env) as(accessToken string) caller {
	e.t.Helper()
	claims := e.verifyAccessToken(accessToken)
	exp, _ := claims.GetExpirationTime()
	a, err := e.signer.Sign(identity.Principal{
		UserID: claims.Subject, Roles: claims.Roles, TokenID: claims.ID,
		SessionID: claims.SessionID, TokenExpiresAt: exp.Unix(),
	})
	require.NoError(e.t, err)
	return caller{assertion: a}
}

func (e *env) verifyAccessToken(token string) *account.AccessClaims {
	e.t.Helper()
	resp, err := http.Get(e.url + "/.well-known/jwks.json")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	var set jwkset.JWKSMarshal
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&set))
	storage, err := set.ToStorage()
	require.NoError(e.t, err)
	var claims account.AccessClaims
	_, err = jwt.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		jwk, err := storage.KeyRead(context.Background(), tok.Header["kid"].(string))
		if err != nil {
			return nil, err
		}
		return jwk.Key(), nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("supergraph-users"), jwt.WithAudience("supergraph"))
	require.NoError(e.t, err)
	return &claims
}

func (e *env) do(c caller, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(e.t, err)
	req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.assertion != "" {
		req.Header.Set(identity.Header, c.assertion)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	require.Less(e.t, resp.StatusCode, 500, "server error: %s", raw)
	var out gqlResponse
	require.NoError(e.t, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
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
	e.t.Helper()
	if roles == nil {
		roles = []string{}
	}
	r := e.do(e.anonymous(), registerMutation, map[string]any{"input": map[string]any{
		"email": username + "@example.com", "username": username, "password": testPassword, "roles": roles,
	}}).noErrors(e.t)
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
	e.t.Helper()
	s := e.register(username)
	_, err := e.db.Exec(context.Background(), "UPDATE users SET roles = array_append(roles, 'STAFF') WHERE id = $1", s.ID)
	require.NoError(e.t, err)
	r := e.do(e.anonymous(), `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken expiresAt user { id username email displayName roles createdAt } } }`,
		map[string]any{"e": s.Email, "p": testPassword}).noErrors(e.t)
	return toSession(r.Data["login"])
}
