package router_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/router"
)

// TestPublishAssertionKey: `router keys` creates the development key once
// and publishes its public half, which is all a subgraph needs to verify the
// router's assertions.
func TestPublishAssertionKey(t *testing.T) {
	t.Parallel()
	cfg := router.DefaultConfig()
	cfg.DevDir = t.TempDir()
	public, err := router.PublishAssertionKey(cfg, "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cfg.DevDir, "keys", "router-assertion.pub.pem"), public)

	// Again: the same key, not a new one.
	elsewhere := filepath.Join(t.TempDir(), "public", "router.pub.pem")
	_, err = router.PublishAssertionKey(cfg, elsewhere)
	require.NoError(t, err)
	a, err := os.ReadFile(public)
	require.NoError(t, err)
	b, err := os.ReadFile(elsewhere)
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.NotContains(t, string(a), "PRIVATE")

	private, err := keys.LoadOrCreate(identity.DevKeyPath(cfg.DevDir))
	require.NoError(t, err)
	token, err := identity.NewSigner(private).Sign(identity.Principal{UserID: "u1"}, "users")
	require.NoError(t, err)
	v, err := identity.LoadVerifier("", elsewhere, "users")
	require.NoError(t, err)
	p, err := v.Verify(token)
	require.NoError(t, err)
	require.Equal(t, "u1", p.UserID)
}
