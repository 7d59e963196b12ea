package subgraphs_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/subgraphs/freelance"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/users"
)

// Reached directly, a subgraph serves anonymous queries without the router's
// limits: unless configured otherwise, it listens on loopback only.
func TestSubgraphsListenOnLoopbackByDefault(t *testing.T) {
	for prefix, cfg := range map[string]config.Subgraph{
		"USERS_":         users.DefaultConfig().Subgraph,
		"NOTIFICATIONS_": notifications.DefaultConfig().Subgraph,
		"FREELANCE_":     freelance.DefaultConfig().Subgraph,
	} {
		// What a process with an empty environment gets.
		t.Setenv(prefix+"HTTP_ADDR", "")
		require.NoError(t, config.Load(&cfg, prefix))
		host, port, err := net.SplitHostPort(cfg.HTTPAddr)
		require.NoError(t, err, prefix)
		require.NotEmpty(t, port, prefix)
		ip := net.ParseIP(host)
		require.True(t, ip != nil && ip.IsLoopback(), "%sHTTP_ADDR defaults to %q, not a loopback address", prefix, cfg.HTTPAddr)
	}
}
