package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/keys"
)

func TestVerifyRejectsForgedAndExpired(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, other, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	v := NewVerifier(pub, "users")
	p := Principal{UserID: "u1", Roles: []string{RoleStaff}}

	token, err := NewSigner(priv).Sign(p, "users")
	require.NoError(t, err)
	for range 2 { // the second answer comes from the cache
		got, err := v.Verify(token)
		require.NoError(t, err)
		require.Equal(t, p, got)
	}

	forged, err := NewSigner(other).Sign(p, "users")
	require.NoError(t, err)
	_, err = v.Verify(forged)
	require.ErrorIs(t, err, ErrInvalid)

	old := NewSigner(priv)
	old.now = func() time.Time { return time.Now().Add(-2 * TTL) }
	expired, err := old.Sign(p, "users")
	require.NoError(t, err)
	_, err = v.Verify(expired)
	require.ErrorIs(t, err, ErrInvalid)

	// Made for another subgraph: a STAFF assertion cannot be replayed here.
	elsewhere, err := NewSigner(priv).Sign(p, "freelance")
	require.NoError(t, err)
	_, err = v.Verify(elsewhere)
	require.ErrorIs(t, err, ErrInvalid)
}

// A cached verification does not outlive the assertion's expiry.
func TestCachedAssertionExpires(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	v := NewVerifier(pub, "users")
	s := NewSigner(priv)
	s.now = func() time.Time { return time.Now().Add(-2 * TTL) }
	token, err := s.Sign(Principal{UserID: "u1"}, "users")
	require.NoError(t, err)
	// As if it had been verified while still valid.
	v.verified.Add(token, verifiedAssertion{principal: Principal{UserID: "u1"}, expires: time.Now().Add(-time.Second)})
	_, err = v.Verify(token)
	require.ErrorIs(t, err, ErrInvalid)
}

// A subgraph reads the router's public key only: from PEM, or from the file
// the router publishes; without either it fails with a way out, and it never
// creates or reads a private key.
func TestLoadVerifierReadsThePublicKeyOnly(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	dir := t.TempDir()
	file := PublicKeyPath(DevKeyPath(dir))

	_, err = LoadVerifier("", file, "users")
	require.ErrorContains(t, err, "router keys")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing is created where the router keeps its keys")

	require.NoError(t, keys.WritePublic(file, pub))
	v, err := LoadVerifier("", file, "users")
	require.NoError(t, err)
	token, err := NewSigner(priv).Sign(Principal{UserID: "u1"}, "users")
	require.NoError(t, err)
	got, err := v.Verify(token)
	require.NoError(t, err)
	require.Equal(t, "u1", got.UserID)

	pemKey, err := keys.EncodePublic(pub)
	require.NoError(t, err)
	v, err = LoadVerifier(string(pemKey), "/nonexistent", "users")
	require.NoError(t, err)
	_, err = v.Verify(token)
	require.NoError(t, err)
}

func TestPrincipalUUID(t *testing.T) {
	id := uuid.New()
	require.Equal(t, id, Principal{UserID: id.String()}.UUID())
	require.Equal(t, uuid.Nil, Principal{}.UUID(), "anonymous matches no one")
	require.Equal(t, uuid.Nil, Principal{UserID: "not-a-uuid"}.UUID())
}
