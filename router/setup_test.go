package router_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/redisx/redistest"
	"supergraph/router"
	"supergraph/router/testgraph"
)

// env is one router started in-process against test subgraphs, a test JWKS and a
// private Redis.
type env struct {
	t        testing.TB
	url      string // http://127.0.0.1:port
	adminURL string // the admin listener (metrics)
	router   *router.Router
	accounts *testgraph.Subgraph
	reviews  *testgraph.Subgraph
	issuer   *issuer
	redis    *redistest.Server
	deny     *redis.Client
	users    map[string]map[string]any
	stopAcc  func()
	// accountsURL is the accounts subgraph's GraphQL URL and signer signs
	// assertions as the router does: benchmarks call the subgraph directly.
	accountsURL string
	signer      *identity.Signer
	// stop shuts the router down as SIGTERM would (drain, then close) and
	// fails the test if it does not stop cleanly; cleanup calls it too.
	stop      func()
	routerPub ed25519.PublicKey // verifies the assertions the router makes
	log       *slog.Logger      // the router's logger (nil: discarded)
	uploadDir string            // where the router spools uploaded files
}

// option adjusts the router's config (and the env) before the router starts.
type option func(*env, *router.Config)

func setup(t testing.TB, opts ...option) *env {
	t.Helper()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "router-assertion.pem")
	key, err := keys.LoadOrCreate(keyPath)
	require.NoError(t, err)
	pub := key.Public().(ed25519.PublicKey)

	e := &env{t: t, issuer: newIssuer(t), redis: redistest.Start(t), signer: identity.NewSigner(key)}
	e.users = map[string]map[string]any{}
	for _, name := range []string{"ada", "bob", "cyd", "dee", "eve"} {
		id := uuid.NewString()
		e.users[id] = map[string]any{"__typename": "User", "id": id, "username": name, "email": name + "@example.com", "internalScore": 42}
	}
	e.routerPub = pub
	e.accounts = accountsSubgraph(identity.NewVerifier(pub, "accounts"), e.users)
	e.reviews = reviewsSubgraph(identity.NewVerifier(pub, "reviews"))
	accSrv := httptest.NewServer(e.accounts)
	revSrv := httptest.NewServer(e.reviews)
	t.Cleanup(revSrv.Close)
	e.accountsURL = accSrv.URL + "/graphql"
	var once sync.Once
	e.stopAcc = func() { once.Do(func() { accSrv.CloseClientConnections(); accSrv.Close() }) }
	t.Cleanup(e.stopAcc)

	opt, err := redis.ParseURL(e.redis.URL(1))
	require.NoError(t, err)
	e.deny = redis.NewClient(opt)
	t.Cleanup(func() { require.NoError(t, e.deny.Close()) })

	cfg := router.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GraphConfig = "testdata/config.json"
	cfg.SubgraphURLs = map[string]string{"accounts": accSrv.URL + "/graphql", "reviews": revSrv.URL + "/graphql"}
	cfg.JWKSURL = e.issuer.srv.URL + "/.well-known/jwks.json"
	cfg.DenyListRedisURL = e.redis.URL(1)
	cfg.RedisURL = e.redis.URL(0)
	cfg.AssertionKeyFile = keyPath
	cfg.SubgraphTimeout = 5 * time.Second
	cfg.RevocationCheckInterval = 50 * time.Millisecond
	cfg.WSInitTimeout = 2 * time.Second
	cfg.KeepAliveInterval = time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	e.uploadDir = filepath.Join(dir, "uploads")
	cfg.UploadDir = e.uploadDir
	for _, o := range opts {
		o(e, &cfg)
	}
	r, err := router.New(cfg, e.log)
	require.NoError(t, err)
	e.router = r
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e.url = "http://" + ln.Addr().String()
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e.adminURL = "http://" + adminLn.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- r.Serve(ctx, ln) }()
	go func() { done <- r.ServeAdmin(ctx, adminLn) }()
	var stopped sync.Once
	e.stop = func() {
		stopped.Do(func() {
			cancel()
			require.NoError(t, <-done)
			require.NoError(t, <-done)
			require.NoError(t, r.Close())
		})
	}
	t.Cleanup(e.stop)
	return e
}

// userIDs returns the test users' ids in a stable order.
func (e *env) userIDs() []string {
	var ids []string
	for _, name := range []string{"ada", "bob", "cyd", "dee", "eve"} {
		for id, u := range e.users {
			if u["username"] == name {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func accountsSubgraph(v *identity.Verifier, users map[string]map[string]any) *testgraph.Subgraph {
	copyUser := func(id string) map[string]any {
		u, ok := users[id]
		if !ok {
			return nil
		}
		out := map[string]any{}
		for k, v := range u {
			out[k] = v
		}
		return out
	}
	return &testgraph.Subgraph{
		Name:     "accounts",
		Verifier: v,
		Query: map[string]testgraph.Field{
			"me": func(c testgraph.Ctx, _ map[string]any) (any, error) {
				// A little latency so concurrent identical requests overlap, as
				// they do in production: that is when de-duplication kicks in.
				time.Sleep(2 * time.Millisecond)
				if c.Principal.Anonymous() {
					return nil, nil
				}
				return copyUser(c.Principal.UserID), nil
			},
			"user": func(c testgraph.Ctx, a map[string]any) (any, error) {
				switch a["id"] {
				case "broken-username":
					// The non-null username fails with a subgraph error.
					return map[string]any{"__typename": "User", "id": "broken-username", "username": testgraph.Field(func(testgraph.Ctx, map[string]any) (any, error) {
						return nil, fmt.Errorf("username unavailable")
					})}, nil
				case "null-username":
					// The non-null username is null without any error: a subgraph bug.
					return map[string]any{"__typename": "User", "id": "null-username", "username": nil}, nil
				}
				u := copyUser(fmt.Sprint(a["id"]))
				if u == nil {
					return nil, nil
				}
				return u, nil
			},
			"users": func(c testgraph.Ctx, a map[string]any) (any, error) {
				var out []map[string]any
				for id := range users {
					out = append(out, copyUser(id))
				}
				return out, nil
			},
			"usersPage": func(c testgraph.Ctx, a map[string]any) (any, error) {
				var edges []map[string]any
				for id := range users {
					edges = append(edges, map[string]any{"__typename": "UserEdge", "cursor": id, "node": copyUser(id)})
				}
				return map[string]any{"__typename": "UserConnection", "edges": edges}, nil
			},
			"echoHeader": func(c testgraph.Ctx, a map[string]any) (any, error) {
				v := c.Header.Values(fmt.Sprint(a["name"]))
				if len(v) == 0 {
					return nil, nil
				}
				return strings.Join(v, ","), nil
			},
			"broken": func(testgraph.Ctx, map[string]any) (any, error) {
				return nil, fmt.Errorf("the broken field is broken")
			},
			"adminSecret": func(testgraph.Ctx, map[string]any) (any, error) { return "s3cret", nil },
			"fileDigest": func(c testgraph.Ctx, a map[string]any) (any, error) {
				// Overlapping requests, so de-duplication would have its chance.
				time.Sleep(2 * time.Millisecond)
				return receivedFile(c, a["file"], nil, copyUser)
			},
		},
		Mutation: map[string]testgraph.Field{
			"rename": func(c testgraph.Ctx, a map[string]any) (any, error) {
				if c.Principal.Anonymous() {
					return nil, fmt.Errorf("sign in first")
				}
				in, _ := a["input"].(map[string]any)
				u := copyUser(c.Principal.UserID)
				u["username"] = in["username"]
				return u, nil
			},
			"uploadFile": func(c testgraph.Ctx, a map[string]any) (any, error) {
				if err := signedIn(c); err != nil {
					return nil, err
				}
				return receivedFile(c, a["file"], nil, copyUser)
			},
			"uploadFiles": func(c testgraph.Ctx, a map[string]any) (any, error) {
				if err := signedIn(c); err != nil {
					return nil, err
				}
				files, _ := a["files"].([]any)
				out := make([]any, len(files))
				for i, f := range files {
					r, err := receivedFile(c, f, nil, copyUser)
					if err != nil {
						return nil, err
					}
					out[i] = r
				}
				return out, nil
			},
			"uploadAttachment": func(c testgraph.Ctx, a map[string]any) (any, error) {
				if err := signedIn(c); err != nil {
					return nil, err
				}
				in, _ := a["input"].(map[string]any)
				return receivedFile(c, in["file"], in["caption"], copyUser)
			},
			"uploadMaybe": func(c testgraph.Ctx, a map[string]any) (any, error) {
				if err := signedIn(c); err != nil || a["file"] == nil {
					return nil, err
				}
				return receivedFile(c, a["file"], a["note"], copyUser)
			},
		},
		Subscription: map[string]testgraph.Stream{
			"ticks": func(c testgraph.Ctx, a map[string]any) (<-chan map[string]any, error) {
				count := toInt(a["count"])
				interval := time.Duration(toInt(a["intervalMs"])) * time.Millisecond
				ch := make(chan map[string]any)
				go func() {
					defer close(ch)
					for i := 1; i <= count; i++ {
						select {
						case <-c.Done():
							return
						case <-time.After(interval):
						}
						var viewer any
						if !c.Principal.Anonymous() {
							viewer = c.Principal.UserID
						}
						select {
						case <-c.Done():
							return
						case ch <- map[string]any{"__typename": "Tick", "n": i, "viewer": viewer}:
						}
					}
				}()
				return ch, nil
			},
		},
		Entities: map[string]testgraph.Entity{
			"User": func(c testgraph.Ctx, rep map[string]any) (map[string]any, error) {
				return copyUser(fmt.Sprint(rep["id"])), nil
			},
		},
	}
}

// signedIn refuses anonymous callers, as the platform's mutations do.
func signedIn(c testgraph.Ctx) error {
	if c.Principal.Anonymous() {
		return &testgraph.Error{Code: "UNAUTHENTICATED", Message: "sign in to upload files"}
	}
	return nil
}

// receivedFile is what the subgraph answers about a file it received: an
// argument that is not a file (a null, a string) fails.
func receivedFile(c testgraph.Ctx, v, caption any, user func(string) map[string]any) (map[string]any, error) {
	up, ok := v.(testgraph.Upload)
	if !ok {
		return nil, fmt.Errorf("expected a file, got %T", v)
	}
	var uploader any
	if u := user(c.Principal.UserID); !c.Principal.Anonymous() && u != nil {
		uploader = u
	}
	return map[string]any{
		"__typename": "ReceivedFile", "name": up.Filename, "size": up.Size, "sha256": up.SHA256,
		"contentType": up.ContentType, "caption": caption, "uploader": uploader,
	}, nil
}

func reviewsSubgraph(v *identity.Verifier) *testgraph.Subgraph {
	return &testgraph.Subgraph{
		Name:     "reviews",
		Verifier: v,
		Query: map[string]testgraph.Field{
			"latestReview": func(testgraph.Ctx, map[string]any) (any, error) {
				return map[string]any{"__typename": "Review", "id": "r0", "body": "latest"}, nil
			},
		},
		Entities: map[string]testgraph.Entity{
			"User": func(c testgraph.Ctx, rep map[string]any) (map[string]any, error) {
				id := fmt.Sprint(rep["id"])
				return map[string]any{"id": id, "reviews": []map[string]any{
					{"__typename": "Review", "id": id + "-r1", "body": "review of " + id},
				}}, nil
			},
		},
	}
}

func toInt(v any) int {
	switch v := v.(type) {
	case int64:
		return int(v)
	case float64:
		return int(v)
	case int:
		return v
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// issuer plays the users service's token side: a JWKS endpoint and minting.
type issuer struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]ed25519.PrivateKey
	current string
	down    bool
	fetches int
}

func newIssuer(t testing.TB) *issuer {
	is := &issuer{t: t, keys: map[string]ed25519.PrivateKey{}}
	is.rotate()
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveJWKS))
	t.Cleanup(is.srv.Close)
	return is
}

// rotate adds a new signing key; old keys stay published.
func (is *issuer) rotate() string {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(is.t, err)
	kid := uuid.NewString()
	is.mu.Lock()
	is.keys[kid], is.current = k, kid
	is.mu.Unlock()
	return kid
}

func (is *issuer) setDown(down bool) {
	is.mu.Lock()
	is.down = down
	is.mu.Unlock()
}

func (is *issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.fetches++
	if is.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var ks []map[string]string
	for kid, k := range is.keys {
		ks = append(ks, map[string]string{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
			"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey)),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": ks})
}

type tokenOpts struct {
	roles    []string
	ttl      time.Duration
	issuer   string
	audience string
	kid      string
	key      ed25519.PrivateKey
	jti, sid string
	method   jwt.SigningMethod
}

// token mints an access token for userID as the users service would.
func (is *issuer) token(userID string, mods ...func(*tokenOpts)) string {
	is.mu.Lock()
	o := tokenOpts{ttl: 15 * time.Minute, issuer: "supergraph-users", audience: "supergraph", kid: is.current,
		key: is.keys[is.current], jti: uuid.NewString(), sid: uuid.NewString(), method: jwt.SigningMethodEdDSA}
	is.mu.Unlock()
	for _, m := range mods {
		m(&o)
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": o.issuer, "aud": o.audience, "sub": userID, "roles": o.roles, "jti": o.jti, "sid": o.sid,
		"iat": now.Unix(), "exp": now.Add(o.ttl).Unix(),
	}
	tok := jwt.NewWithClaims(o.method, claims)
	tok.Header["kid"] = o.kid
	var key any = o.key
	if o.method == jwt.SigningMethodHS256 {
		key = []byte("not-the-key")
	}
	s, err := tok.SignedString(key)
	require.NoError(is.t, err)
	return s
}

// gqlResult is a decoded GraphQL response.
type gqlResult struct {
	Status      int
	ContentType string
	Header      http.Header
	Data        map[string]any
	Errors      []map[string]any
	Raw         []byte
}

// post sends a GraphQL POST with the given headers ("Authorization" etc.).
func (e *env) post(query string, vars map[string]any, headers ...string) gqlResult {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.do(http.MethodPost, "/graphql", "application/json", body, headers...)
}

func (e *env) do(method, path, contentType string, body []byte, headers ...string) gqlResult {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	require.NoError(e.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	res := gqlResult{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header, Raw: raw}
	var parsed struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	if json.Unmarshal(raw, &parsed) == nil {
		res.Data, res.Errors = parsed.Data, parsed.Errors
	}
	return res
}

// modernAccept is what current GraphQL clients send: request errors then keep
// their 4xx statuses (application/json answers them with 200).
var modernAccept = []string{"Accept", "application/graphql-response+json, application/json;q=0.9"}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// errorCode returns extensions.code of the first error.
func (r gqlResult) errorCode() string {
	if len(r.Errors) == 0 {
		return ""
	}
	ext, _ := r.Errors[0]["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}

// extensions returns the response's top-level extensions.
func (r gqlResult) extensions() map[string]any {
	var out struct {
		Extensions map[string]any `json:"extensions"`
	}
	_ = json.Unmarshal(r.Raw, &out)
	return out.Extensions
}

func (r gqlResult) errorMessage() string {
	if len(r.Errors) == 0 {
		return ""
	}
	m, _ := r.Errors[0]["message"].(string)
	return m
}
