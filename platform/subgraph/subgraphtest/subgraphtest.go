// Package subgraphtest starts a subgraph for a test the way production runs
// it: a fresh migrated database, a private Redis, a real socket, and a router
// stand-in that signs internal assertions for whichever principal a request
// is made as.
package subgraphtest

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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/pg"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx/redistest"
)

// Env is one test's infrastructure.
type Env struct {
	T testing.TB
	// Config is ready to embed in the subgraph's own configuration.
	Config config.Subgraph
	// DB is a separate pool on the subgraph's database, for assertions.
	DB *pgxpool.Pool
	// Redis is the service's Redis database; RedisServer controls the server.
	Redis       *redis.Client
	RedisServer *redistest.Server
	// RouterKey signs assertions like the router does.
	RouterKey ed25519.PrivateKey
	Log       *slog.Logger
	// URL is the subgraph's base URL once Serve has been called.
	URL string
	// Subgraph is the subgraph's name (its schema's): assertions are made for it.
	Subgraph string
}

// New prepares a database with schema's migrations, a private Redis whose
// database redisDB the service uses (the queue uses DB 3), and a router key.
func New(t testing.TB, schema string, redisDB int) *Env {
	t.Helper()
	redisSrv := redistest.Start(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pubPEM, err := keys.EncodePublic(pub)
	require.NoError(t, err)

	var cfg config.Subgraph
	config.Defaults(&cfg)
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = pgtest.URL(t, schema)
	cfg.RedisURL = redisSrv.URL(redisDB)
	cfg.QueueRedisURL = redisSrv.URL(3)
	cfg.DevDir = t.TempDir()
	cfg.AssertionPublicKey = string(pubPEM)
	cfg.ShutdownTimeout = 5 * time.Second
	// Each test's server stops at its end: a short pause keeps asynq's
	// shutdown (which waits the pause out) from costing a second a test.
	cfg.TaskCheckInterval = 50 * time.Millisecond

	db, err := pg.Open(context.Background(), cfg.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	opts, err := redis.ParseURL(cfg.RedisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { require.NoError(t, rdb.Close()) })
	return &Env{
		T: t, Config: cfg, DB: db, Redis: rdb, RedisServer: redisSrv, RouterKey: priv, Subgraph: schema,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// Serve runs serve on a loopback listener until the test ends, then expects
// a clean shutdown.
func (e *Env) Serve(serve func(ctx context.Context, ln net.Listener) error) {
	e.T.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(e.T, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	e.T.Cleanup(func() {
		// A burst of concurrent requests can leave the client connections it
		// dialed but never used; the server sees them as new (no request yet)
		// and Shutdown waits 5 s for them, past the drain deadline. Closing
		// the client's idle connections ends them at once (other tests' idle
		// ones are merely redialled).
		http.DefaultClient.CloseIdleConnections()
		cancel()
		require.NoError(e.T, <-done)
	})
	e.URL = "http://" + ln.Addr().String()
}

// Caller is who a request is made as.
type Caller struct {
	// Assertion is the X-Internal-Assertion header; empty sends none.
	Assertion string
}

// As is a request through the router on behalf of p.
func (e *Env) As(p identity.Principal) Caller {
	e.T.Helper()
	a, err := identity.NewSigner(e.RouterKey).Sign(p, e.Subgraph)
	require.NoError(e.T, err)
	return Caller{Assertion: a}
}

// User is a request through the router by a signed-in user with roles.
func (e *Env) User(id string, roles ...string) Caller {
	return e.As(identity.Principal{UserID: id, Roles: roles})
}

// Anonymous is a request through the router without a signed-in user.
func (e *Env) Anonymous() Caller { return e.As(identity.Principal{}) }

// Direct bypasses the router: no assertion at all.
func (e *Env) Direct() Caller { return Caller{} }

// Response is a GraphQL response with errors kept structured.
type Response struct {
	Data   map[string]any `json:"data"`
	Errors []Error        `json:"errors"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the extensions.code of the only error.
func (r Response) Code(t testing.TB) string {
	t.Helper()
	require.Len(t, r.Errors, 1, "want exactly one error, got %+v", r.Errors)
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// Field returns the extensions.field of the only error.
func (r Response) Field(t testing.TB) string {
	t.Helper()
	require.Len(t, r.Errors, 1, "want exactly one error, got %+v", r.Errors)
	field, _ := r.Errors[0].Extensions["field"].(string)
	return field
}

// NoErrors fails the test when the response has errors.
func (r Response) NoErrors(t testing.TB) Response {
	t.Helper()
	require.Empty(t, r.Errors)
	return r
}

// Do posts a GraphQL request to /graphql as c. A 5xx fails the test: bad
// input must never be a server error.
func (e *Env) Do(c Caller, query string, vars map[string]any) Response {
	e.T.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(e.T, err)
	req, err := http.NewRequest(http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	require.NoError(e.T, err)
	req.Header.Set("Content-Type", "application/json")
	if c.Assertion != "" {
		req.Header.Set(identity.Header, c.Assertion)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.T, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.T, err)
	require.Less(e.T, resp.StatusCode, 500, "server error: %s", raw)
	var out Response
	require.NoError(e.T, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
}
