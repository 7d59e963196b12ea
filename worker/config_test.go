package worker_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/worker"
)

// The admin port (health and the queue monitor, with run/delete actions) is
// on loopback unless configured otherwise.
func TestAdminPortListensOnLoopbackByDefault(t *testing.T) {
	t.Setenv(worker.EnvPrefix+"HTTP_ADDR", "")
	cfg := worker.DefaultConfig()
	require.NoError(t, config.Load(&cfg, worker.EnvPrefix))
	host, _, err := net.SplitHostPort(cfg.HTTPAddr)
	require.NoError(t, err)
	ip := net.ParseIP(host)
	require.True(t, ip != nil && ip.IsLoopback(), "WORKER_HTTP_ADDR defaults to %q, not a loopback address", cfg.HTTPAddr)
}
