package subgraphs_test

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/platform/services"
	"supergraph/subgraphs/content"
	"supergraph/subgraphs/freelance"
	"supergraph/subgraphs/marketplace"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/users"
)

// defaults is every subgraph's DefaultConfig, by registry name.
var defaults = map[string]config.Subgraph{
	users.Service.Name:         users.DefaultConfig().Subgraph,
	notifications.Service.Name: notifications.DefaultConfig().Subgraph,
	freelance.Service.Name:     freelance.DefaultConfig().Subgraph,
	content.Service.Name:       content.DefaultConfig().Subgraph,
	marketplace.Service.Name:   marketplace.DefaultConfig().Subgraph,
}

// Every registered subgraph takes its address, database, Redis databases and
// environment prefix from the registry.
func TestDefaultsComeFromTheRegistry(t *testing.T) {
	require.ElementsMatch(t, services.Names(), keys(defaults), "a subgraph without a line in defaults above, or one that is not registered")
	for _, s := range services.Subgraphs {
		var want config.Subgraph
		s.LocalDefaults(&want)
		got := defaults[s.Name]
		require.Equal(t, want.HTTPAddr, got.HTTPAddr, s.Name)
		require.Equal(t, want.DatabaseURL, got.DatabaseURL, s.Name)
		require.Equal(t, want.RedisURL, got.RedisURL, s.Name)
		require.Equal(t, want.QueueRedisURL, got.QueueRedisURL, s.Name)
	}
	require.Equal(t, "USERS_", users.EnvPrefix)
	require.Equal(t, services.MustSubgraph("notifications").EnvPrefix(), notifications.EnvPrefix)
	require.Equal(t, services.MustSubgraph("freelance").EnvPrefix(), freelance.EnvPrefix)
	require.Equal(t, "CONTENT_", content.EnvPrefix)
	require.Equal(t, "MARKETPLACE_", marketplace.EnvPrefix)
}

// Reached directly, a subgraph serves anonymous queries without the router's
// limits: unless configured otherwise, it listens on loopback only.
func TestSubgraphsListenOnLoopbackByDefault(t *testing.T) {
	for _, s := range services.Subgraphs {
		cfg, prefix := defaults[s.Name], s.EnvPrefix()
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

// Every subgraph binary reads its command line alike (server.MainCommands): a
// mistyped command is refused at once, before it connects to anything,
// instead of starting the server.
func TestBinariesRefuseUnknownCommands(t *testing.T) {
	bin := t.TempDir()
	pkgs := []string{"build", "-o", bin + "/"}
	for _, s := range services.Subgraphs {
		pkgs = append(pkgs, "./"+s.Name+"/cmd/"+s.Name)
	}
	out, err := exec.Command("go", pkgs...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, s := range services.Subgraphs {
		for _, args := range [][]string{{"sed"}, {"seed", "extra"}} {
			cmd := exec.Command(filepath.Join(bin, s.Name), args...)
			// Unreachable servers: had it started, it would fail differently.
			cmd.Env = []string{s.EnvPrefix() + "DATABASE_URL=postgres://127.0.0.1:1/none", s.EnvPrefix() + "REDIS_URL=redis://127.0.0.1:1/0"}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "%s %q: %v %s", s.Name, args, err, out)
			require.Equal(t, 2, exit.ExitCode(), "%s %q: %s", s.Name, args, out)
			// make run seeds every subgraph.
			require.Regexp(t, `usage: `+s.Name+` \[([a-z-]+ \| )*seed( \| [a-z-]+)*\]`, string(out), "%s %q: make run calls `%s seed`", s.Name, args, s.Name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
