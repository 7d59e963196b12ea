package account

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Keys is the users service's signing key and the public keys it still
// publishes: after a rotation the previous keys stay in the JWKS until every
// token they signed has expired.
type Keys struct {
	signing ed25519.PrivateKey
	kid     string
	jwks    []byte
}

// KeyID returns the key id (kid) of a public key: a SHA-256 prefix, stable
// across restarts.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:12])
}

// NewKeys builds the key set from the signing key and the previous public keys.
func NewKeys(signing ed25519.PrivateKey, previous []ed25519.PublicKey) (*Keys, error) {
	store := jwkset.NewMemoryStorage()
	ctx := context.Background()
	pubs := append([]ed25519.PublicKey{signing.Public().(ed25519.PublicKey)}, previous...)
	for _, pub := range pubs {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			ALG: jwkset.AlgEdDSA, KID: KeyID(pub), USE: jwkset.UseSig,
		}})
		if err != nil {
			return nil, fmt.Errorf("jwk: %w", err)
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			return nil, err
		}
	}
	raw, err := store.JSONPublic(ctx)
	if err != nil {
		return nil, err
	}
	return &Keys{signing: signing, kid: KeyID(pubs[0]), jwks: raw}, nil
}

// ServeHTTP serves the JWKS at /.well-known/jwks.json.
func (k *Keys) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(k.jwks)
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	Roles []string `json:"roles"`
	// SessionID is the refresh-token family the token was issued for.
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// Issuer mints access tokens.
type Issuer struct {
	keys     *Keys
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer signing with keys.
func NewIssuer(keys *Keys, issuer, audience string, ttl time.Duration) *Issuer {
	return &Issuer{keys: keys, issuer: issuer, audience: audience, ttl: ttl, now: time.Now}
}

// Issue returns a signed access token for a user's session.
func (i *Issuer) Issue(userID uuid.UUID, roles []string, sessionID uuid.UUID) (token string, expires time.Time, err error) {
	now := i.now()
	expires = now.Add(i.ttl)
	claims := AccessClaims{
		Roles:     roles,
		SessionID: sessionID.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   userID.String(),
			Audience:  jwt.ClaimStrings{i.audience},
			ExpiresAt: jwt.NewNumericDate(expires),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = i.keys.kid
	token, err = t.SignedString(i.keys.signing)
	return token, expires, err
}
