package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
)

const (
	testIssuer   = "supergraph-users"
	testAudience = "supergraph"
)

// issuer plays the users service: it signs access tokens and serves the
// JWKS of its keys over HTTP.
type issuer struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]ed25519.PrivateKey
	current string
	down    bool
	n       int
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{t: t, keys: map[string]ed25519.PrivateKey{}}
	is.rotate()
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveJWKS))
	t.Cleanup(is.srv.Close)
	return is
}

// rotate adds a signing key and makes it current; older keys stay published.
func (is *issuer) rotate() {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(is.t, err)
	is.mu.Lock()
	defer is.mu.Unlock()
	is.n++
	kid := fmt.Sprintf("key-%d", is.n)
	is.keys[kid], is.current = k, kid
}

func (is *issuer) setDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = down
}

func (is *issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ks := []map[string]string{}
	for kid, k := range is.keys {
		ks = append(ks, map[string]string{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
			"x": base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey)),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{"keys": ks}); err != nil {
		is.t.Error(err)
	}
}

// claims are a token's claims as the users service writes them; a test
// changes what it needs.
type claims map[string]any

func (is *issuer) claims(user string) claims {
	now := time.Now()
	return claims{
		"iss": testIssuer, "aud": testAudience, "sub": user, "roles": []string{"member"},
		"jti": "jti-" + user, "sid": "sid-" + user, "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
	}
}

// sign signs c with the current key (EdDSA, kid set).
func (is *issuer) sign(c claims) string {
	is.mu.Lock()
	kid, key := is.current, is.keys[is.current]
	is.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(c))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(is.t, err)
	return s
}

func (is *issuer) token(user string) string { return is.sign(is.claims(user)) }

// bundle is one test's users service, deny-list Redis and verifier.
type bundle struct {
	is    *issuer
	redis *redistest.Server
	// deny is a client of the deny-list DB, as the users service writes it.
	deny *redis.Client
	v    *Verifier
}

// setup starts an issuer and a Redis and returns a verifier over them;
// configure adjusts its options.
func setup(t *testing.T, configure ...func(*Options)) bundle {
	t.Helper()
	b := bundle{is: newIssuer(t), redis: redistest.Start(t)}
	b.deny = denyClient(t, b.redis)
	opts := Options{JWKSURL: b.is.srv.URL, Issuer: testIssuer, Audience: testAudience, Deny: denyClient(t, b.redis)}
	for _, c := range configure {
		c(&opts)
	}
	var err error
	b.v, err = NewVerifier(t.Context(), opts)
	require.NoError(t, err)
	return b
}

func denyClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	opt, err := redisx.Options(srv.URL(1))
	require.NoError(t, err)
	c := redisx.New(opt)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func TestVerify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	require.True(t, b.v.Ready())

	c := b.is.claims("u1")
	p, err := b.v.Verify(ctx, b.is.sign(c))
	require.NoError(t, err)
	require.Equal(t, identity.Principal{UserID: "u1", Roles: []string{"member"}, TokenID: "jti-u1", SessionID: "sid-u1", TokenExpiresAt: c["exp"].(int64)}, p)

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signWith := func(method jwt.SigningMethod, kid string, key any, c claims) string {
		tok := jwt.NewWithClaims(method, jwt.MapClaims(c))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	with := func(k string, v any) claims {
		c := b.is.claims("u2")
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrInvalidToken},
		{"garbage", "not.a.token", ErrInvalidToken},
		{"expired", b.is.sign(with("exp", time.Now().Add(-time.Minute).Unix())), ErrExpiredToken},
		{"wrong issuer", b.is.sign(with("iss", "someone-else")), ErrInvalidToken},
		{"wrong audience", b.is.sign(with("aud", "another-service")), ErrInvalidToken},
		{"no expiry", b.is.sign(with("exp", nil)), ErrInvalidToken},
		{"no subject", b.is.sign(with("sub", nil)), ErrInvalidToken},
		{"no token id", b.is.sign(with("jti", nil)), ErrInvalidToken},
		{"alg none", signWith(jwt.SigningMethodNone, "key-1", jwt.UnsafeAllowNoneSignatureType, b.is.claims("u2")), ErrInvalidToken},
		{"HMAC with the public key as secret", signWith(jwt.SigningMethodHS256, "key-1", []byte(b.is.keys["key-1"].Public().(ed25519.PublicKey)), b.is.claims("u2")), ErrInvalidToken},
		{"a key not in the JWKS under a known kid", signWith(jwt.SigningMethodEdDSA, "key-1", otherKey, b.is.claims("u2")), ErrInvalidToken},
		{"an unknown kid", signWith(jwt.SigningMethodEdDSA, "key-99", otherKey, b.is.claims("u2")), ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.v.Verify(ctx, tc.token)
			require.ErrorIs(t, err, tc.want)
			if tc.want == ErrInvalidToken {
				require.NotErrorIs(t, err, ErrUnavailable, "the client must sign in again, not retry")
			}
		})
	}

	// Clock skew: a token a second past its expiry still passes.
	_, err = b.v.Verify(ctx, b.is.sign(with("exp", time.Now().Add(-time.Second).Unix())))
	require.NoError(t, err)
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]struct {
		token   string
		present bool
	}{
		"":                {"", false},
		"   ":             {"", false},
		"Bearer abc":      {"abc", true},
		"bearer  abc ":    {"abc", true},
		"Basic dXNlcjpw":  {"", true},
		"abc":             {"", true},
		"Bearer":          {"", true},
		"  BEARER x.y.z ": {"x.y.z", true},
	} {
		token, present := BearerToken(header)
		require.Equal(t, want.token, token, "%q", header)
		require.Equal(t, want.present, present, "%q", header)
	}
}

// TestKeysLoadLate: a router started before the users service answers
// refuses tokens with "retry" (never "invalid") until the key set loads in
// the background, then verifies them.
func TestKeysLoadLate(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.setDown(true)
	v, err := NewVerifier(t.Context(), Options{JWKSURL: is.srv.URL, Issuer: testIssuer, Audience: testAudience})
	require.NoError(t, err)
	require.False(t, v.Ready())
	tok := is.token("u1")
	_, err = v.Verify(t.Context(), tok)
	require.ErrorIs(t, err, ErrKeysUnavailable)
	require.ErrorIs(t, err, ErrUnavailable)

	is.setDown(false)
	require.Eventually(t, v.Ready, 5*time.Second, 10*time.Millisecond)
	p, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	require.Equal(t, "u1", p.UserID)
}

// TestKeyRotation: a token signed with a key published after the key set
// was fetched makes the verifier fetch it again (unknown kid).
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.v.Verify(t.Context(), b.is.token("u1"))
	require.NoError(t, err)
	b.is.rotate()
	_, err = b.v.Verify(t.Context(), b.is.token("u2"))
	require.NoError(t, err)
}

// TestDenyList: a revoked token or session is refused on its very next use
// (no check interval), remembered or not.
func TestDenyList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	ann, bob := b.is.token("ann"), b.is.token("bob")
	for _, tok := range []string{ann, bob} {
		_, err := b.v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	// Written without an announcement: the read alone must see it.
	require.NoError(t, b.deny.Set(ctx, identity.DenyTokenKey("jti-ann"), "1", time.Minute).Err())
	_, err := b.v.Verify(ctx, ann)
	require.ErrorIs(t, err, ErrRevokedToken)
	require.ErrorIs(t, b.v.CheckRevoked(ctx, identity.Principal{UserID: "ann", TokenID: "jti-ann"}), ErrRevokedToken)

	_, err = b.v.Verify(ctx, bob)
	require.NoError(t, err, "another token")
	require.NoError(t, b.deny.Set(ctx, identity.DenySessionKey("sid-bob"), "1", time.Minute).Err())
	_, err = b.v.Verify(ctx, bob)
	require.ErrorIs(t, err, ErrRevokedToken, "its session")

	// A token never seen before is read against the deny-list as well.
	c := b.is.claims("cat")
	c["sid"] = "sid-bob"
	_, err = b.v.Verify(ctx, b.is.sign(c))
	require.ErrorIs(t, err, ErrRevokedToken)

	require.NoError(t, b.v.CheckRevoked(ctx, identity.Principal{}), "anonymous: nothing to revoke")
}

// TestDenyCheckInterval: a remembered token's clean deny-list result is
// trusted for the interval; Recheck and a revocation announcement end that
// trust at once.
func TestDenyCheckInterval(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.DenyCheckInterval = time.Hour })
	ctx := t.Context()
	tok := b.is.token("ann")
	_, err := b.v.Verify(ctx, tok)
	require.NoError(t, err)

	require.NoError(t, b.deny.Set(ctx, identity.DenyTokenKey("jti-ann"), "1", time.Minute).Err())
	_, err = b.v.Verify(ctx, tok)
	require.NoError(t, err, "within the interval the deny-list is not read")
	b.v.Recheck(tok)
	_, err = b.v.Verify(ctx, tok)
	require.ErrorIs(t, err, ErrRevokedToken)
	_, err = b.v.Verify(ctx, tok)
	require.ErrorIs(t, err, ErrRevokedToken, "a revoked result is never remembered")

	// Announced (as the users service revokes): the next use reads it.
	bob := b.is.token("bob")
	_, err = b.v.Verify(ctx, bob)
	require.NoError(t, err)
	require.NoError(t, identity.Deny(ctx, b.deny, time.Minute, identity.DenySessionKey("sid-bob")))
	require.Eventually(t, func() bool {
		_, err := b.v.Verify(ctx, bob)
		return errors.Is(err, ErrRevokedToken)
	}, 5*time.Second, 5*time.Millisecond)
}

// TestRememberedTokenLifetime: a token is remembered until it expires, and
// at most one JWKS refresh interval after it was verified; then it is
// verified in full again.
func TestRememberedTokenLifetime(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.JWKSRefresh = time.Minute })
	ctx := t.Context()
	now := time.Now()
	b.v.now = func() time.Time { return now }
	remembered := func(tok string) *verifiedToken {
		t.Helper()
		e, ok := b.v.verified.Peek(tok)
		require.True(t, ok)
		return e
	}

	tok := b.is.token("ann") // expires in 15 minutes
	_, err := b.v.Verify(ctx, tok)
	require.NoError(t, err)
	first := remembered(tok)
	require.Equal(t, now.Add(time.Minute), first.until, "the refresh interval is sooner than the expiry")

	now = now.Add(30 * time.Second)
	_, err = b.v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Same(t, first, remembered(tok))

	now = now.Add(time.Minute)
	_, err = b.v.Verify(ctx, tok)
	require.NoError(t, err)
	require.NotSame(t, first, remembered(tok), "verified afresh")

	c := b.is.claims("bob")
	exp := time.Now().Add(20 * time.Second).Truncate(time.Second)
	c["exp"] = exp.Unix()
	bob := b.is.sign(c)
	_, err = b.v.Verify(ctx, bob)
	require.NoError(t, err)
	require.Equal(t, exp, remembered(bob).until, "the expiry is sooner than the refresh interval")

	_, err = b.v.Verify(ctx, "")
	require.ErrorIs(t, err, ErrInvalidToken)
}

func TestDenyListUnreadable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	closed := setup(t)
	open := setup(t, func(o *Options) { o.FailOpen = true })
	for _, b := range []bundle{closed, open} {
		_, err := b.v.Verify(ctx, b.is.token("ann"))
		require.NoError(t, err)
		b.redis.Stop()
	}
	_, err := closed.v.Verify(ctx, closed.is.token("ann"))
	require.ErrorIs(t, err, ErrRevocationUnknown)
	require.ErrorIs(t, err, ErrUnavailable, "retry, not sign in again")
	_, err = closed.v.Verify(ctx, closed.is.token("bob"))
	require.ErrorIs(t, err, ErrRevocationUnknown, "a new token too")

	p, err := open.v.Verify(ctx, open.is.token("ann"))
	require.NoError(t, err)
	require.Equal(t, "ann", p.UserID)
}

// TestVerifyDeferred: a remembered token's deny-list read is handed to the
// caller; a new token is verified (and read) in full at once.
func TestVerifyDeferred(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.DenyCheckInterval = time.Hour })
	ctx := t.Context()
	tok := b.is.token("ann")
	p, check, err := b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.Nil(t, check, "first seen: verified in full")
	require.Equal(t, "ann", p.UserID)

	p, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.Nil(t, check, "read less than the interval ago")
	require.Equal(t, "ann", p.UserID)

	b.v.Recheck(tok)
	_, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.NotNil(t, check)
	require.Equal(t, []string{identity.DenyTokenKey("jti-ann"), identity.DenySessionKey("sid-ann")}, check.Keys())
	require.ErrorIs(t, check.Resolve(ctx, 1, nil), ErrRevokedToken)
	require.ErrorIs(t, check.Resolve(ctx, 0, errors.New("connection reset")), ErrRevocationUnknown)
	_, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.NotNil(t, check, "neither outcome was remembered")
	require.NoError(t, check.Resolve(ctx, 0, nil))
	_, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.Nil(t, check, "a clean read is remembered")

	b.v.Recheck(tok)
	_, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.NoError(t, check.Run(ctx))
	require.NoError(t, b.deny.Set(ctx, identity.DenyTokenKey("jti-ann"), "1", time.Minute).Err())
	b.v.Recheck(tok)
	_, check, err = b.v.VerifyDeferred(ctx, tok)
	require.NoError(t, err)
	require.ErrorIs(t, check.Run(ctx), ErrRevokedToken)
}

// awaitCause waits for ctx to end and returns its cause.
func awaitCause(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end")
		return nil
	}
}

// TestWatch: a watched connection's context ends when its token expires or
// is revoked, by the periodic sweep or at once on an announcement; other
// tokens' watches go on.
func TestWatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	principal := func(user string) identity.Principal {
		return identity.Principal{UserID: user, TokenID: "jti-" + user, SessionID: "sid-" + user, TokenExpiresAt: time.Now().Add(time.Hour).Unix()}
	}

	t.Run("expiry", func(t *testing.T) {
		p := principal("exp")
		p.TokenExpiresAt = time.Now().Add(-time.Second).Unix()
		w, cancel := b.v.Watch(ctx, p, time.Hour)
		defer cancel()
		require.ErrorIs(t, awaitCause(t, w), ErrExpiredToken)
	})

	t.Run("sweep", func(t *testing.T) {
		w, cancel := b.v.Watch(ctx, principal("swept"), 20*time.Millisecond)
		defer cancel()
		other, cancelOther := b.v.Watch(ctx, principal("other"), 20*time.Millisecond)
		defer cancelOther()
		// Not announced: only the sweep can find it.
		require.NoError(t, b.deny.Set(ctx, identity.DenyTokenKey("jti-swept"), "1", time.Minute).Err())
		require.ErrorIs(t, awaitCause(t, w), ErrRevokedToken)
		require.NoError(t, other.Err())
	})

	t.Run("announcement", func(t *testing.T) {
		// An interval no sweep reaches: the announcement alone ends them.
		w1, cancel1 := b.v.Watch(ctx, principal("ann"), time.Hour)
		defer cancel1()
		w2, cancel2 := b.v.Watch(ctx, principal("ann"), 2*time.Hour)
		defer cancel2()
		other, cancelOther := b.v.Watch(ctx, principal("bob"), time.Hour)
		defer cancelOther()
		require.NoError(t, identity.Deny(ctx, b.deny, time.Minute, identity.DenySessionKey("sid-ann")))
		require.ErrorIs(t, awaitCause(t, w1), ErrRevokedToken)
		require.ErrorIs(t, awaitCause(t, w2), ErrRevokedToken)
		require.NoError(t, other.Err())
	})

	t.Run("anonymous", func(t *testing.T) {
		w, cancel := b.v.Watch(ctx, identity.Principal{}, time.Millisecond)
		require.NoError(t, w.Err())
		cancel()
		require.ErrorIs(t, w.Err(), context.Canceled)
	})

	t.Run("cancel releases", func(t *testing.T) {
		w, cancel := b.v.Watch(ctx, principal("gone"), 3*time.Hour)
		require.Len(t, b.v.sweeperFor(3*time.Hour).watches, 1)
		cancel()
		require.Equal(t, context.Canceled, context.Cause(w))
		require.Empty(t, b.v.sweeperFor(3*time.Hour).watches)
	})
}

// TestWatchSurvivesAnUnreadableDenyList: a sweep that cannot read the
// deny-list cuts nobody off.
func TestWatchSurvivesAnUnreadableDenyList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, cancel := b.v.Watch(t.Context(), identity.Principal{UserID: "ann", TokenID: "jti-ann", TokenExpiresAt: time.Now().Add(time.Hour).Unix()}, 10*time.Millisecond)
	defer cancel()
	b.redis.Stop()
	// Nothing to await: the watch must stay up through several failed sweeps.
	select {
	case <-w.Done():
		t.Fatalf("the watch ended: %v", context.Cause(w))
	case <-time.After(100 * time.Millisecond):
	}
}
