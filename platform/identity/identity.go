// Package identity carries the end user's identity from the router to the
// subgraphs: the router signs a short-lived internal assertion, subgraphs verify
// it. A request without a valid assertion is anonymous and did not come through
// the router.
package identity

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/keys"
)

// Header is the one request header that carries the assertion to subgraphs.
// The router strips it (and every other identity header) from client requests.
const Header = "X-Internal-Assertion"

const (
	issuer = "supergraph-router"
	// TTL is how long an assertion is valid: long enough for one subgraph
	// request (or a subscription's start), too short to be worth stealing.
	TTL = time.Minute
)

// Roles a user can hold.
const (
	RoleFreelancer = "FREELANCER"
	RoleSeller     = "SELLER"
	RoleModerator  = "MODERATOR"
	RoleStaff      = "STAFF"
)

// Principal is who a request acts for. The zero value is anonymous.
type Principal struct {
	UserID string   `json:"uid,omitempty"`
	Roles  []string `json:"roles,omitempty"`
	// TokenID is the access token's jti, SessionID its refresh-token family;
	// logout and password changes use them to revoke what the user holds.
	TokenID   string `json:"tid,omitempty"`
	SessionID string `json:"sid,omitempty"`
	// TokenExpiresAt is when the access token expires (Unix seconds).
	TokenExpiresAt int64 `json:"tokexp,omitempty"`
}

// Anonymous reports whether no user is signed in.
func (p Principal) Anonymous() bool { return p.UserID == "" }

// SignedIn returns the signed-in user's id, or UNAUTHENTICATED for an
// anonymous principal. Schema directives check this first; domains check it
// again so that they are safe whoever calls them.
func (p Principal) SignedIn() (uuid.UUID, error) {
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return uuid.Nil, apperr.Unauthenticated("sign in to do this")
	}
	return id, nil
}

// HasRole reports whether p holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// UUID is the signed-in user's id, or uuid.Nil when anonymous (or the id is
// malformed): a value that matches no owner, member or author, for checks
// that compare ids rather than require a user.
func (p Principal) UUID() uuid.UUID {
	id, err := uuid.Parse(p.UserID)
	if err != nil {
		return uuid.Nil
	}
	return id
}

// IsStaff reports whether p holds the STAFF role.
func (p Principal) IsStaff() bool { return p.HasRole(RoleStaff) }

type claims struct {
	Principal
	jwt.RegisteredClaims
}

// Signer mints assertions; only the router holds one.
type Signer struct {
	key ed25519.PrivateKey
	now func() time.Time
}

// NewSigner returns a Signer using key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key, now: time.Now} }

// Audience is the audience of assertions for one subgraph: an assertion is
// valid at the subgraph it was made for only, so neither a subgraph nor
// anyone on the router-to-subgraph network can replay it at another.
func Audience(subgraph string) string { return "supergraph-subgraph:" + subgraph }

// Sign returns an assertion for p to present to subgraph (anonymous
// included: the assertion also proves that the request came through the
// router).
func (s *Signer) Sign(p Principal, subgraph string) (string, error) {
	now := s.now()
	c := claims{Principal: p, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Audience:  jwt.ClaimStrings{Audience(subgraph)},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(TTL)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(s.key)
}

// ErrInvalid is returned for a missing, malformed, forged or expired assertion.
var ErrInvalid = errors.New("invalid internal assertion")

// Verifier checks assertions; every subgraph holds one.
type Verifier struct {
	key    ed25519.PublicKey
	parser *jwt.Parser
	// verified remembers assertions already checked: the router reuses one
	// per principal for a while, and an Ed25519 check per request was a
	// tenth of a subgraph's CPU. Entries still honour the assertion's expiry.
	verified *expirable.LRU[string, verifiedAssertion]
}

type verifiedAssertion struct {
	principal Principal
	expires   time.Time
}

// NewVerifier returns the Verifier of subgraph, trusting the router's public
// key and accepting only assertions made for subgraph.
func NewVerifier(key ed25519.PublicKey, subgraph string) *Verifier {
	return &Verifier{key: key, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(Audience(subgraph)),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	), verified: expirable.NewLRU[string, verifiedAssertion](10_000, nil, TTL)}
}

// Verify returns the principal an assertion speaks for.
func (v *Verifier) Verify(token string) (Principal, error) {
	if hit, ok := v.verified.Get(token); ok && time.Now().Before(hit.expires) {
		return hit.principal, nil
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	v.verified.Add(token, verifiedAssertion{principal: c.Principal, expires: c.ExpiresAt.Time})
	return c.Principal, nil
}

type ctxKey struct{}

type requestIdentity struct {
	principal  Principal
	fromRouter bool
}

// Middleware verifies the assertion on every request. A request without a
// valid one proceeds anonymously and is marked as not from the router.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id requestIdentity
		if token := r.Header.Get(Header); token != "" {
			if p, err := v.Verify(token); err == nil {
				id = requestIdentity{principal: p, fromRouter: true}
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	})
}

// WithPrincipal returns ctx carrying p as if it came through the router.
// WebSocket transports use it after verifying the assertion in the init payload.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, requestIdentity{principal: p, fromRouter: true})
}

// FromContext returns the principal of the request; anonymous when unknown.
func FromContext(ctx context.Context) Principal {
	id, _ := ctx.Value(ctxKey{}).(requestIdentity)
	return id.principal
}

// FromRouter reports whether the request carried a valid router assertion.
func FromRouter(ctx context.Context) bool {
	id, _ := ctx.Value(ctxKey{}).(requestIdentity)
	return id.fromRouter
}

// Deny-list keys in the users service's Redis database. Logout and password
// changes write them; the router refuses access tokens that match.
func DenyTokenKey(jti string) string   { return "auth:deny:jti:" + jti }
func DenySessionKey(sid string) string { return "auth:deny:sid:" + sid }

// DenyMargin is how long a deny-list entry outlives the tokens it refuses:
// verifiers accept a token a few seconds past its expiry (clock skew), and
// it must not come back to life meanwhile.
const DenyMargin = 30 * time.Second

// RevocationChannel is the Redis pub/sub channel on which every deny-list
// write is announced (the message is the key): routers cut off the token's
// live connections at once instead of at their next periodic check.
const RevocationChannel = "auth:revoked"

// Deny puts keys on the deny-list for ttl and announces each on
// RevocationChannel, in one round trip.
func Deny(ctx context.Context, rdb redis.Cmdable, ttl time.Duration, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, k, "1", ttl)
		pipe.Publish(ctx, RevocationChannel, k)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// LoadVerifier returns subgraph's verifier for the router's public key: given
// as PEM, or else read from publicKeyFile, which the router writes in
// development (a subgraph never needs the router's private key).
func LoadVerifier(pemKey, publicKeyFile, subgraph string) (*Verifier, error) {
	if pemKey == "" {
		data, err := os.ReadFile(publicKeyFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the router's public key %s does not exist yet: run `router keys` (make run does), or set the subgraph's ASSERTION_PUBLIC_KEY", publicKeyFile)
		}
		if err != nil {
			return nil, fmt.Errorf("assertion public key: %w", err)
		}
		pemKey = string(data)
	}
	pub, err := keys.ParsePublic([]byte(pemKey))
	if err != nil {
		return nil, fmt.Errorf("assertion public key: %w", err)
	}
	return NewVerifier(pub, subgraph), nil
}

// DevKeyPath is where development setups keep the router's assertion key.
func DevKeyPath(devDir string) string { return filepath.Join(devDir, "keys", "router-assertion.pem") }

// PublicKeyPath is where the router publishes the public half of the
// assertion key kept at privateKeyPath: beside it, as .pub.pem.
func PublicKeyPath(privateKeyPath string) string {
	return strings.TrimSuffix(privateKeyPath, ".pem") + ".pub.pem"
}
