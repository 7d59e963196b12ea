// Package auth turns a client's access token into the principal a request acts
// for: the token's signature is checked against the users service's JWKS, its
// claims and the Redis deny-list; the principal then travels to subgraphs only as
// the router-signed internal assertion (see SubgraphHeaders).
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"supergraph/platform/identity"
)

// Errors a token can fail with: 401 UNAUTHENTICATED, except ErrUnavailable (503).
var (
	ErrInvalidToken = errors.New("invalid access token")
	ErrExpiredToken = errors.New("access token expired")
	ErrRevokedToken = errors.New("access token revoked")
	// ErrUnavailable means the token cannot be checked right now. It may well
	// be valid: the client is told to retry (503), not to sign in again.
	ErrUnavailable = errors.New("cannot verify the access token right now")
	// ErrRevocationUnknown means the deny-list could not be read; the caller must
	// not treat the token as valid (fail closed) unless configured otherwise.
	ErrRevocationUnknown = fmt.Errorf("%w: cannot check token revocation", ErrUnavailable)
	// ErrKeysUnavailable means the users service's key set has not been
	// fetched yet (the router started before it could be reached).
	ErrKeysUnavailable = fmt.Errorf("%w: token signing keys not loaded yet", ErrUnavailable)
)

// Options configure a Verifier.
type Options struct {
	JWKSURL  string
	Issuer   string
	Audience string
	// Deny is the users service's Redis (DB 1) holding the deny-list; nil disables it.
	Deny *redis.Client
	// FailOpen accepts tokens when the deny-list cannot be read (availability over
	// prompt revocation); the default refuses them.
	FailOpen bool
	// JWKSRefresh is how often the JWKS is refetched; an unknown kid refetches early.
	JWKSRefresh time.Duration
	// CacheSize bounds how many verified tokens are remembered (0: 10,000;
	// negative: no cache). A remembered token skips the signature check until
	// it expires, at most one JWKS refresh interval after it was verified (so
	// a key withdrawn from the JWKS stops working about as soon as without
	// the cache).
	CacheSize int
	// DenyCheckInterval is how long a remembered token's clean deny-list
	// result is trusted (0: the deny-list is read on every request, so a
	// revocation applies to the very next request).
	DenyCheckInterval time.Duration
	Logger            *slog.Logger
}

// Verifier validates access tokens. It is safe for concurrent use.
type Verifier struct {
	// keys is nil until the key set was fetched once (see loadKeys).
	keys     atomic.Pointer[keySet]
	parser   *jwt.Parser
	deny     *redis.Client
	failOpen bool
	log      *slog.Logger

	// verified remembers valid tokens by their full text (never a hash: a
	// collision would hand one user another's identity). An Ed25519
	// signature check is most of the router's CPU per request otherwise.
	verified     *lru.Cache[string, *verifiedToken]
	sweepersMu   sync.Mutex
	sweepers     map[time.Duration]*sweeper
	maxAge       time.Duration
	denyInterval time.Duration
	now          func() time.Time
}

// verifiedToken is a remembered valid token.
type verifiedToken struct {
	p identity.Principal
	// until is when the entry stops being trusted: the token's expiry, or
	// maxAge after verification if sooner.
	until time.Time
	// denyChecked is when the deny-list last said the token was not revoked
	// (Unix nanoseconds; updated concurrently).
	denyChecked atomic.Int64
}

// accessClaims are the claims the users service puts into access tokens.
type accessClaims struct {
	Roles []string `json:"roles"`
	SID   string   `json:"sid"`
	jwt.RegisteredClaims
}

// keySet is the fetched JWKS, refreshed by keyfunc in the background until
// stop is called or the router's context ends.
type keySet struct {
	keyfunc.Keyfunc
	stop context.CancelFunc
}

// NewVerifier fetches the JWKS once and, when that fails, keeps trying in the
// background with backoff until it succeeds (Ready reports it): anonymous
// traffic flows meanwhile and tokens are answered "retry" (ErrKeysUnavailable),
// never "invalid". Once loaded, the key set is refreshed every JWKSRefresh and
// a token with an unknown kid triggers a rate-limited refetch (key rotation).
func NewVerifier(ctx context.Context, opts Options) (*Verifier, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.JWKSRefresh <= 0 {
		opts.JWKSRefresh = 5 * time.Minute
	}
	log := opts.Logger
	v := &Verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(opts.Issuer),
			jwt.WithAudience(opts.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(5*time.Second),
		),
		deny:         opts.Deny,
		failOpen:     opts.FailOpen,
		log:          opts.Logger,
		maxAge:       opts.JWKSRefresh,
		denyInterval: opts.DenyCheckInterval,
		now:          time.Now,
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 10_000
	}
	if opts.CacheSize > 0 {
		var err error
		v.verified, err = lru.New[string, *verifiedToken](opts.CacheSize)
		if err != nil {
			return nil, err
		}
	}
	override := keyfunc.Override{
		Client:      &http.Client{Transport: &http.Transport{Proxy: nil}},
		HTTPTimeout: 3 * time.Second,
		// The first fetch fails loudly: loadKeys retries it.
		NoErrorReturnFirstHTTPReq: new(false),
		RefreshInterval:           opts.JWKSRefresh,
		// One refetch per second at most for unknown kids (rotation), and never make
		// a request wait for one: a forged kid must not stall or amplify traffic.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Second), 1),
		RateLimitWaitMax:  time.Millisecond,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "JWKS refresh failed", "url", u, "err", err)
			}
		},
	}
	if v.deny != nil {
		go v.listenRevocations(ctx)
	}
	if err := v.fetchKeys(ctx, opts.JWKSURL, override); err != nil {
		log.WarnContext(ctx, "JWKS not reachable yet; signed-in requests get 503 until it is", "url", opts.JWKSURL, "err", err)
		go v.loadKeys(ctx, opts.JWKSURL, override)
	}
	return v, nil
}

// Ready reports whether the key set has been fetched: until then no token
// can be verified.
func (v *Verifier) Ready() bool { return v.keys.Load() != nil }

// fetchKeys fetches the key set once and, on success, installs it with its
// background refresh, which runs until ctx (the router's) ends.
func (v *Verifier) fetchKeys(ctx context.Context, url string, override keyfunc.Override) error {
	attempt, cancel := context.WithCancel(ctx)
	kf, err := keyfunc.NewDefaultOverrideCtx(attempt, []string{url}, override)
	if err != nil {
		cancel() // a failed attempt leaves its refresh goroutine behind otherwise
		return err
	}
	v.keys.Store(&keySet{Keyfunc: kf, stop: cancel})
	return nil
}

// loadKeys retries fetchKeys with backoff (100 ms doubling to 5 s) until it
// succeeds or ctx ends.
func (v *Verifier) loadKeys(ctx context.Context, url string, override keyfunc.Override) {
	const maxDelay = 5 * time.Second
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		err := v.fetchKeys(ctx, url, override)
		if err == nil {
			v.log.InfoContext(ctx, "JWKS loaded", "url", url)
			return
		}
		if delay == maxDelay {
			v.log.WarnContext(ctx, "JWKS still not reachable", "url", url, "err", err)
		}
		delay = min(2*delay, maxDelay)
	}
}

// BearerToken extracts the token from an Authorization header value. ok is false
// when the value is empty; a non-empty value that is not "Bearer <token>" yields
// ok with an empty token, which Verify rejects.
func BearerToken(header string) (token string, present bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", false
	}
	scheme, tok, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// Verify checks an access token and returns its principal. A token verified
// before skips the signature and claim checks while its cache entry lasts; the
// deny-list is still consulted (see Options.DenyCheckInterval).
func (v *Verifier) Verify(ctx context.Context, token string) (identity.Principal, error) {
	if token == "" {
		return identity.Principal{}, ErrInvalidToken
	}
	now := v.now()
	if v.verified != nil {
		if e, ok := v.verified.Get(token); ok {
			if now.Before(e.until) {
				if err := v.checkRevokedCached(ctx, e, now); err != nil {
					return identity.Principal{}, err
				}
				return e.p, nil
			}
			v.verified.Remove(token)
		}
	}
	keys := v.keys.Load()
	if keys == nil {
		return identity.Principal{}, ErrKeysUnavailable
	}
	var c accessClaims
	_, err := v.parser.ParseWithClaims(token, &c, keys.KeyfuncCtx(ctx))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return identity.Principal{}, ErrExpiredToken
		}
		return identity.Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Subject == "" || c.ID == "" {
		return identity.Principal{}, fmt.Errorf("%w: sub and jti are required", ErrInvalidToken)
	}
	p := identity.Principal{
		UserID: c.Subject,
		// Clipped: the principal is shared by every request of the token, so an
		// append must never write into the cached array.
		Roles:     slices.Clip(slices.Clone(c.Roles)),
		TokenID:   c.ID,
		SessionID: c.SID,
	}
	if c.ExpiresAt != nil {
		p.TokenExpiresAt = c.ExpiresAt.Unix()
	}
	read, err := v.checkRevoked(ctx, p)
	if err != nil {
		return identity.Principal{}, err
	}
	if v.verified != nil && c.ExpiresAt != nil {
		e := &verifiedToken{p: p, until: c.ExpiresAt.Time}
		if v.maxAge > 0 && now.Add(v.maxAge).Before(e.until) {
			e.until = now.Add(v.maxAge)
		}
		if read {
			e.denyChecked.Store(now.UnixNano())
		}
		v.verified.Add(token, e)
	}
	return p, nil
}

// DenyCheck is a deny-list read VerifyDeferred left to its caller, who may
// combine it with another Redis round trip (the rate limit's). The principal
// must not be acted for before Resolve or Run returned nil.
type DenyCheck struct {
	v    *Verifier
	e    *verifiedToken
	now  time.Time
	keys []string
}

// Keys are the deny-list keys to test with EXISTS (in the deny-list's DB).
func (d *DenyCheck) Keys() []string { return d.keys }

// Resolve applies the outcome of EXISTS on Keys: n keys exist, or err.
func (d *DenyCheck) Resolve(ctx context.Context, n int64, err error) error {
	read, err := d.v.denyOutcome(ctx, n, err)
	if err != nil {
		return err
	}
	if read {
		d.e.denyChecked.Store(d.now.UnixNano())
	}
	return nil
}

// Run reads the deny-list on its own.
func (d *DenyCheck) Run(ctx context.Context) error {
	n, err := d.v.deny.Exists(ctx, d.keys...).Result()
	return d.Resolve(ctx, n, err)
}

// VerifyDeferred is Verify for a caller about to make a Redis round trip of
// its own: when a remembered token needs its deny-list read, the read is
// returned (non-nil DenyCheck) instead of made. A token seen for the first
// time is verified in full at once.
func (v *Verifier) VerifyDeferred(ctx context.Context, token string) (identity.Principal, *DenyCheck, error) {
	if token == "" || v.verified == nil || v.deny == nil {
		p, err := v.Verify(ctx, token)
		return p, nil, err
	}
	now := v.now()
	e, ok := v.verified.Get(token)
	if !ok || !now.Before(e.until) || e.p.Anonymous() {
		p, err := v.Verify(ctx, token)
		return p, nil, err
	}
	if v.denyInterval > 0 && now.UnixNano()-e.denyChecked.Load() < int64(v.denyInterval) {
		return e.p, nil, nil
	}
	return e.p, &DenyCheck{v: v, e: e, now: now, keys: denyKeys(e.p)}, nil
}

func denyKeys(p identity.Principal) []string {
	keys := []string{identity.DenyTokenKey(p.TokenID)}
	if p.SessionID != "" {
		keys = append(keys, identity.DenySessionKey(p.SessionID))
	}
	return keys
}

// Recheck makes the next use of token read the deny-list whatever the check
// interval: the router calls it after a token's own mutations, one of which
// may just have revoked it (a logout).
func (v *Verifier) Recheck(token string) {
	if v.verified == nil || v.denyInterval <= 0 {
		return
	}
	if e, ok := v.verified.Peek(token); ok {
		e.denyChecked.Store(0)
	}
}

// checkRevokedCached reads the deny-list for a remembered token unless it said
// "not revoked" less than DenyCheckInterval ago. A revoked or unreadable
// result is never remembered.
func (v *Verifier) checkRevokedCached(ctx context.Context, e *verifiedToken, now time.Time) error {
	if v.denyInterval > 0 && now.UnixNano()-e.denyChecked.Load() < int64(v.denyInterval) {
		return nil
	}
	read, err := v.checkRevoked(ctx, e.p)
	if err != nil {
		return err
	}
	if read {
		e.denyChecked.Store(now.UnixNano())
	}
	return nil
}

// CheckRevoked consults the deny-list for the principal's token and session.
// Long-lived connections call it periodically.
func (v *Verifier) CheckRevoked(ctx context.Context, p identity.Principal) error {
	_, err := v.checkRevoked(ctx, p)
	return err
}

// checkRevoked is CheckRevoked that also tells whether the deny-list was
// actually read (false when it is off, or unreadable and failing open).
func (v *Verifier) checkRevoked(ctx context.Context, p identity.Principal) (bool, error) {
	if v.deny == nil || p.Anonymous() {
		return false, nil
	}
	n, err := v.deny.Exists(ctx, denyKeys(p)...).Result()
	return v.denyOutcome(ctx, n, err)
}

// denyOutcome interprets EXISTS on a principal's deny-list keys.
func (v *Verifier) denyOutcome(ctx context.Context, n int64, err error) (bool, error) {
	if err != nil {
		if v.failOpen {
			v.log.WarnContext(ctx, "deny-list unreadable, accepting token (fail-open)", "err", err)
			return false, nil
		}
		return false, fmt.Errorf("%w: %v", ErrRevocationUnknown, err)
	}
	if n > 0 {
		return true, ErrRevokedToken
	}
	return true, nil
}

// Watch returns a context that ends when the principal's token expires or is
// revoked (checked every interval), with ErrExpiredToken or ErrRevokedToken as
// its cause; long-lived subscriptions run under it. Anonymous principals are
// never cut off. Call cancel to release the watch: the parent ending does not.
//
// No goroutine is kept per watch: expiry is a timer, and one sweeper per
// interval reads the deny-list for every watched token at once (pipelined, each
// distinct token and session once), so ten thousand idle subscribers cost ten
// thousand small structs, not ten thousand goroutines and Redis round trips.
func (v *Verifier) Watch(ctx context.Context, p identity.Principal, interval time.Duration) (context.Context, context.CancelFunc) {
	if p.Anonymous() {
		return context.WithCancel(ctx)
	}
	ctx, cancelCause := context.WithCancelCause(ctx)
	w := &watch{p: p, cancel: cancelCause}
	if p.TokenExpiresAt > 0 {
		w.expiry = time.AfterFunc(time.Until(time.Unix(p.TokenExpiresAt, 0)), func() { cancelCause(ErrExpiredToken) })
	}
	sw := v.sweeperFor(interval)
	sw.add(w)
	// Released by cancel alone (the parent ending does not): an AfterFunc
	// on the parent would cost every idle subscriber another allocation.
	return ctx, func() {
		cancelCause(context.Canceled)
		if w.expiry != nil {
			w.expiry.Stop()
		}
		sw.remove(w)
	}
}

// watch is one watched principal.
type watch struct {
	p      identity.Principal
	cancel context.CancelCauseFunc
	expiry *time.Timer
}

// sweeper checks the deny-list for all watches of one interval.
type sweeper struct {
	v        *Verifier
	interval time.Duration
	mu       sync.Mutex
	watches  map[*watch]struct{}
	running  bool
}

func (v *Verifier) sweeperFor(interval time.Duration) *sweeper {
	v.sweepersMu.Lock()
	defer v.sweepersMu.Unlock()
	if v.sweepers == nil {
		v.sweepers = map[time.Duration]*sweeper{}
	}
	sw := v.sweepers[interval]
	if sw == nil {
		sw = &sweeper{v: v, interval: interval, watches: map[*watch]struct{}{}}
		v.sweepers[interval] = sw
	}
	return sw
}

func (sw *sweeper) add(w *watch) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.watches[w] = struct{}{}
	if !sw.running {
		// The sweeper's goroutine runs only while something is watched.
		sw.running = true
		go sw.run()
	}
}

func (sw *sweeper) remove(w *watch) {
	sw.mu.Lock()
	delete(sw.watches, w)
	sw.mu.Unlock()
}

func (sw *sweeper) run() {
	t := time.NewTicker(sw.interval)
	defer t.Stop()
	for range t.C {
		sw.mu.Lock()
		if len(sw.watches) == 0 {
			sw.running = false
			sw.mu.Unlock()
			return
		}
		ws := make([]*watch, 0, len(sw.watches))
		for w := range sw.watches {
			ws = append(ws, w)
		}
		sw.mu.Unlock()
		sw.v.sweep(ws, sw.interval)
	}
}

// listenRevocations applies the deny-list writes the users service announces
// (identity.RevocationChannel) as they happen, until ctx ends: the watches of
// that token or session end (their connections close) and remembered tokens
// read the deny-list on their next request, whatever the check intervals.
// Announcements lost while the subscription reconnects are made up for by a
// sweep of every watch each time it (re)subscribes, and by the periodic sweeps.
func (v *Verifier) listenRevocations(ctx context.Context) {
	ps := v.deny.Subscribe(ctx, identity.RevocationChannel)
	defer ps.Close()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// go-redis reconnects on the next Receive; don't spin meanwhile.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				v.sweep(v.allWatches(), time.Second)
			}
		case *redis.Message:
			v.revoked(m.Payload)
		}
	}
}

// revoked applies one announced deny-list key.
func (v *Verifier) revoked(key string) {
	matches := func(p identity.Principal) bool {
		return key == identity.DenyTokenKey(p.TokenID) || (p.SessionID != "" && key == identity.DenySessionKey(p.SessionID))
	}
	for _, w := range v.allWatches() {
		if matches(w.p) {
			w.cancel(ErrRevokedToken)
		}
	}
	if v.verified == nil {
		return
	}
	for _, token := range v.verified.Keys() {
		if e, ok := v.verified.Peek(token); ok && matches(e.p) {
			e.denyChecked.Store(0)
		}
	}
}

// allWatches lists every watch of every interval.
func (v *Verifier) allWatches() []*watch {
	v.sweepersMu.Lock()
	sweepers := make([]*sweeper, 0, len(v.sweepers))
	for _, sw := range v.sweepers {
		sweepers = append(sweepers, sw)
	}
	v.sweepersMu.Unlock()
	var ws []*watch
	for _, sw := range sweepers {
		sw.mu.Lock()
		for w := range sw.watches {
			ws = append(ws, w)
		}
		sw.mu.Unlock()
	}
	return ws
}

// sweep cancels the watches whose token or session is on the deny-list. An
// unreadable deny-list cuts nobody off: the next sweep tries again.
func (v *Verifier) sweep(ws []*watch, timeout time.Duration) {
	if v.deny == nil {
		return
	}
	// Each distinct key is asked once, however many watches share it.
	byKey := map[string][]*watch{}
	for _, w := range ws {
		byKey[identity.DenyTokenKey(w.p.TokenID)] = append(byKey[identity.DenyTokenKey(w.p.TokenID)], w)
		if w.p.SessionID != "" {
			k := identity.DenySessionKey(w.p.SessionID)
			byKey[k] = append(byKey[k], w)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout, time.Second))
	defer cancel()
	const chunk = 1000
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		pipe := v.deny.Pipeline()
		cmds := make([]*redis.IntCmd, n)
		for i, k := range keys[:n] {
			cmds[i] = pipe.Exists(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			v.log.Warn("deny-list sweep failed", "err", err)
			return
		}
		for i, k := range keys[:n] {
			if cmds[i].Val() > 0 {
				for _, w := range byKey[k] {
					w.cancel(ErrRevokedToken)
				}
			}
		}
		keys = keys[n:]
	}
}
