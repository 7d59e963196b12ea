package e2e_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/platform/keys"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx/redistest"
	"supergraph/platform/services"
	"supergraph/router"
	"supergraph/subgraphs/content"
	"supergraph/subgraphs/freelance"
	"supergraph/subgraphs/marketplace"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/users"
	"supergraph/worker"
	"supergraph/worker/mailcatch"
)

// Redis databases as production shares one server (the service registry):
// the router's rate limits, the users service's (profile cache, deny-list),
// the task queue and live-notification pub/sub. Each subgraph gets its own
// from the registry.
var (
	redisRouter = services.Router.RedisDB
	redisUsers  = users.Service.RedisDB
	redisQueue  = services.QueueRedisDB
)

// platform is the whole platform of one test, in-process on loopback: every
// subgraph of the service registry, each on a fresh database, one
// private redis-server shared as in production, the worker mailing to an
// in-process SMTP catcher, and the router on the committed graph/config.json.
// Tests talk to it only through the router (url); the rest is here so that
// setup can wait for readiness and benchmarks can start the pieces apart.
type platform struct {
	t     testing.TB
	log   *slog.Logger
	redis *redistest.Server
	// routerKey signs internal assertions; every subgraph trusts its public half.
	routerKey ed25519.PrivateKey
	// devDir holds the users service's generated JWT signing key.
	devDir string

	// subgraphURLs are the subgraphs' base URLs, by registry name; the
	// fields after it name the ones tests address directly.
	subgraphURLs                             map[string]string
	usersURL, notificationsURL, freelanceURL string
	notificationsDB                          string
	// usersConfig lets a benchmark start a second users replica on the same
	// database with other settings.
	usersConfig users.Config

	mail     *mailcatch.Catcher
	smtpPort int
	// url is the router's base URL (http://127.0.0.1:port).
	url string
}

// startPlatform starts everything: subgraphs, worker and router.
func startPlatform(t *testing.T) *platform {
	t.Helper()
	p := newPlatform(t)
	p.startSubgraphs()
	p.startWorker()
	p.startRouter()
	return p
}

// in returns p reporting to t: a subtest's failures must end the subtest.
func (p *platform) in(t *testing.T) *platform {
	q := *p
	q.t = t
	return &q
}

// newPlatform prepares the shared pieces (Redis, router key, mail catcher)
// and starts nothing else.
func newPlatform(t testing.TB) *platform {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p := &platform{
		t: t, redis: redistest.Start(t), routerKey: key, devDir: t.TempDir(), mail: mailcatch.New(),
		log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	smtp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.smtpPort = smtp.Addr().(*net.TCPAddr).Port
	served := make(chan error, 1)
	go func() { served <- p.mail.Serve(smtp) }() // returns nil once Close ends it
	t.Cleanup(func() {
		require.NoError(t, p.mail.Close())
		require.NoError(t, <-served)
	})
	return p
}

// subgraphConfig is the shared part of every subgraph's configuration: a
// fresh database with its migrations, its Redis database, the queue, and
// trust in the router's key.
func (p *platform) subgraphConfig(s services.Service) config.Subgraph {
	p.t.Helper()
	pub, err := keys.EncodePublic(p.routerKey.Public().(ed25519.PublicKey))
	require.NoError(p.t, err)
	var c config.Subgraph
	config.Defaults(&c)
	c.HTTPAddr = "127.0.0.1:0"
	c.DatabaseURL = pgtest.URL(p.t, s.Name)
	c.RedisURL = p.redis.URL(s.RedisDB)
	c.QueueRedisURL = p.redis.URL(redisQueue)
	c.DevDir = p.devDir
	c.AssertionPublicKey = string(pub)
	c.ShutdownTimeout = 5 * time.Second
	return c
}

// serve runs serve on a loopback listener until the test ends and returns
// the base URL. Cleanups run last-in first-out, so a service registered
// later (the router) stops before the ones it calls.
func (p *platform) serve(serve func(ctx context.Context, ln net.Listener) error) string {
	p.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(p.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	p.t.Cleanup(func() {
		cancel()
		require.NoError(p.t, <-done)
	})
	return "http://" + ln.Addr().String()
}

// startSubgraphs starts every subgraph of the service registry, in its order.
func (p *platform) startSubgraphs() {
	p.t.Helper()
	p.subgraphURLs = map[string]string{}
	for _, s := range services.Subgraphs {
		start, ok := subgraphStarters[s.Name]
		require.True(p.t, ok, "e2e does not start the %s subgraph: add it to subgraphStarters in e2e/platform_env_test.go", s.Name)
		p.subgraphURLs[s.Name] = start(p, p.subgraphConfig(s))
	}
}

// subgraphStarters start each subgraph in-process on cfg (subgraphConfig)
// and return its base URL. Every registered subgraph needs one.
var subgraphStarters = map[string]func(p *platform, cfg config.Subgraph) string{
	users.Service.Name: func(p *platform, base config.Subgraph) string {
		cfg := users.DefaultConfig()
		cfg.Subgraph = base
		cfg.PasswordHashMemoryKiB = 8 * 1024 // the minimum: sign-ups stay quick
		p.usersConfig = cfg
		app, err := users.New(context.Background(), cfg, p.log)
		require.NoError(p.t, err)
		p.t.Cleanup(app.Close)
		p.usersURL = p.serve(app.Serve)
		return p.usersURL
	},
	notifications.Service.Name: func(p *platform, base config.Subgraph) string {
		cfg := notifications.DefaultConfig()
		cfg.Subgraph = base
		p.notificationsDB = cfg.DatabaseURL
		app, err := notifications.New(context.Background(), cfg, p.log)
		require.NoError(p.t, err)
		p.t.Cleanup(app.Close)
		p.notificationsURL = p.serve(app.Serve)
		return p.notificationsURL
	},
	freelance.Service.Name: func(p *platform, base config.Subgraph) string {
		cfg := freelance.DefaultConfig()
		cfg.Subgraph = base
		app, err := freelance.New(context.Background(), cfg, p.log)
		require.NoError(p.t, err)
		p.t.Cleanup(app.Close)
		p.freelanceURL = p.serve(app.Serve)
		return p.freelanceURL
	},
	content.Service.Name: func(p *platform, base config.Subgraph) string {
		cfg := content.DefaultConfig()
		cfg.Subgraph = base
		app, err := content.New(context.Background(), cfg, p.log)
		require.NoError(p.t, err)
		p.t.Cleanup(app.Close)
		return p.serve(app.Serve)
	},
	marketplace.Service.Name: func(p *platform, base config.Subgraph) string {
		cfg := marketplace.DefaultConfig()
		cfg.Subgraph = base
		app, err := marketplace.New(context.Background(), cfg, p.log)
		require.NoError(p.t, err)
		p.t.Cleanup(app.Close)
		return p.serve(app.Serve)
	},
}

// startWorker starts the worker on the notifications database and the queue,
// mailing to the catcher. Tests that must open a subscription before anything
// is delivered start it late.
func (p *platform) startWorker() {
	p.t.Helper()
	cfg := worker.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = p.notificationsDB
	cfg.RedisURL = p.redis.URL(services.Worker.RedisDB)
	cfg.SMTP.Host = "127.0.0.1"
	cfg.SMTP.Port = p.smtpPort
	cfg.Concurrency = 4
	cfg.Scheduler = false // periodic jobs are the worker's own tests' business
	// Quick retries, yet ten of them span seconds: an e-mail may wait for
	// its recipient's directory event, which travels its own way from users.
	cfg.RetryBaseDelay = 20 * time.Millisecond
	cfg.RetryMaxDelay = 500 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	w, err := worker.New(context.Background(), cfg, p.log)
	require.NoError(p.t, err)
	p.t.Cleanup(func() { require.NoError(p.t, w.Close()) })
	p.serve(w.Run)
}

// routerConfig is the router on the committed graph, pointed at this
// platform's subgraphs.
func (p *platform) routerConfig() router.Config {
	p.t.Helper()
	key, err := keys.EncodePrivate(p.routerKey)
	require.NoError(p.t, err)
	graph, err := filepath.Abs("../graph/config.json")
	require.NoError(p.t, err)
	cfg := router.DefaultConfig()
	cfg.GraphConfig = graph
	cfg.SubgraphURLs = map[string]string{}
	for name, base := range p.subgraphURLs {
		cfg.SubgraphURLs[name] = base + "/graphql"
	}
	cfg.JWKSURL = p.usersURL + "/.well-known/jwks.json"
	cfg.DenyListRedisURL = p.redis.URL(redisUsers)
	cfg.RedisURL = p.redis.URL(redisRouter)
	cfg.AssertionKey = string(key)
	cfg.DevDir = p.t.TempDir()
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// startRouter runs the router in-process.
func (p *platform) startRouter() {
	p.t.Helper()
	p.startRouterWith(p.routerConfig())
}

// startRouterWith runs the router in-process with cfg (routerConfig, changed).
func (p *platform) startRouterWith(cfg router.Config) {
	p.t.Helper()
	r, err := router.New(cfg, p.log)
	require.NoError(p.t, err)
	p.t.Cleanup(func() { require.NoError(p.t, r.Close()) })
	p.url = p.serve(r.Serve)
}

// redisClient is a client of database db of the platform's Redis, for
// readiness checks only (never for assertions a client could not make).
func (p *platform) redisClient(db int) *redis.Client {
	p.t.Helper()
	opt, err := redis.ParseURL(p.redis.URL(db))
	require.NoError(p.t, err)
	c := redis.NewClient(opt)
	p.t.Cleanup(func() { require.NoError(p.t, c.Close()) })
	return c
}

// waitListening waits until a subgraph listens on a Redis pub/sub channel:
// a live event published from then on reaches the subscription.
func (p *platform) waitListening(channel string) {
	p.t.Helper()
	rdb := p.redisClient(redisQueue)
	require.Eventually(p.t, func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		return err == nil && n[channel] >= 1
	}, 10*time.Second, 5*time.Millisecond, "nobody subscribed to %s", channel)
}

// waitSubscribed waits until the notifications subgraph listens for userID's
// notifications: only then is a notification sure to arrive live rather than
// before the subscription existed.
func (p *platform) waitSubscribed(userID string) {
	p.t.Helper()
	p.waitListening("notifications:user:" + userID)
}

// waitMail waits for the first message to addr that match accepts.
func (p *platform) waitMail(addr string, match func(mailcatch.Message) bool) mailcatch.Message {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := p.mail.Wait(ctx, func(m mailcatch.Message) bool {
		return len(m.To) == 1 && m.To[0] == addr && (match == nil || match(m))
	})
	require.NoError(p.t, err, "no mail to %s", addr)
	return m
}

// --- GraphQL over HTTP, as a client ---

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int            `json:"-"`
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// codes lists the errors' extensions.code values, in order.
func (r gqlResponse) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// request is one GraphQL request to the router; safe from any goroutine
// (it reports errors instead of failing the test).
func (p *platform) request(method, token, query string, vars map[string]any, header http.Header) (gqlResponse, error) {
	var req *http.Request
	var err error
	if method == http.MethodGet {
		q := url.Values{"query": {query}}
		if vars != nil {
			v, _ := json.Marshal(vars)
			q.Set("variables", string(v))
		}
		req, err = http.NewRequest(http.MethodGet, p.url+"/graphql?"+q.Encode(), nil)
	} else {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, err = http.NewRequest(http.MethodPost, p.url+"/graphql", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doJSON(req)
}

// doJSON sends req and decodes its GraphQL response.
func doJSON(req *http.Request) (gqlResponse, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	var r gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return gqlResponse{}, fmt.Errorf("status %d: decode: %w", resp.StatusCode, err)
	}
	r.Status = resp.StatusCode
	return r, nil
}

// post sends a query or mutation as token ("" is anonymous).
func (p *platform) post(token, query string, vars map[string]any) gqlResponse {
	p.t.Helper()
	r, err := p.request(http.MethodPost, token, query, vars, nil)
	require.NoError(p.t, err)
	return r
}

// ok posts and requires a clean answer, returning its data.
func (p *platform) ok(token, query string, vars map[string]any) map[string]any {
	p.t.Helper()
	r := p.post(token, query, vars)
	require.Empty(p.t, r.Errors, "query %s", query)
	require.Equal(p.t, http.StatusOK, r.Status)
	return r.Data
}

// account is a registered user and their access token.
type account struct {
	ID, Username, Email, DisplayName, Token string
}

// registerRequest signs a user up through the router; safe from any goroutine.
func (p *platform) registerRequest(username string, roles ...string) (account, error) {
	a := account{Username: username, Email: username + "@example.com", DisplayName: "Display " + username}
	if roles == nil {
		roles = []string{}
	}
	r, err := p.request(http.MethodPost, "", `mutation($in: RegisterInput!) { register(input: $in) { accessToken user { id } } }`, map[string]any{
		"in": map[string]any{"email": a.Email, "username": username, "password": "correct horse battery", "displayName": a.DisplayName, "roles": roles},
	}, nil)
	if err != nil {
		return a, err
	}
	if len(r.Errors) > 0 {
		return a, fmt.Errorf("register %s: %+v", username, r.Errors)
	}
	a.Token, _ = dig(r.Data, "register", "accessToken").(string)
	a.ID, _ = dig(r.Data, "register", "user", "id").(string)
	return a, nil
}

func (p *platform) register(username string, roles ...string) account {
	p.t.Helper()
	a, err := p.registerRequest(username, roles...)
	require.NoError(p.t, err)
	return a
}

// notificationNodes returns the signed-in user's notifications, newest first.
func (p *platform) notificationNodes(token string) []map[string]any {
	p.t.Helper()
	d := p.ok(token, `{ me { notifications(first: 50) { edges { node { id kind title body } } } } }`, nil)
	var out []map[string]any
	for _, e := range dig(d, "me", "notifications", "edges").([]any) {
		out = append(out, e.(map[string]any)["node"].(map[string]any))
	}
	return out
}

// waitNotification waits until the user's list holds a notification of kind
// and returns it.
func (p *platform) waitNotification(token, kind string) map[string]any {
	p.t.Helper()
	var found map[string]any
	require.Eventually(p.t, func() bool {
		for _, n := range p.notificationNodes(token) {
			if n["kind"] == kind {
				found = n
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "no %s notification", kind)
	return found
}

// dig walks decoded JSON by object keys (string) and array indexes (int);
// nil when a step is missing.
func dig(v any, path ...any) any {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[s]
		case int:
			a, ok := v.([]any)
			if !ok || s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}

// kinds lists the kind of each notification.
func kinds(ns []map[string]any) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n["kind"].(string))
	}
	return out
}
