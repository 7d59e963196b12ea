package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

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
	override := jwksOverride(opts.JWKSRefresh, log)
	if v.deny != nil {
		go v.listenRevocations(ctx)
	}
	if err := v.fetchKeys(ctx, opts.JWKSURL, override); err != nil {
		log.WarnContext(ctx, "JWKS not reachable yet; signed-in requests get 503 until it is", "url", opts.JWKSURL, "err", err)
		go v.loadKeys(ctx, opts.JWKSURL, override)
	}
	return v, nil
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
