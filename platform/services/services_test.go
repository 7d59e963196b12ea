package services_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
	"supergraph/platform/services"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

// The registry never gives two services one name, port, database, health
// name or cache: only the queue's Redis DB is shared, by design.
func TestRegistryIsConsistent(t *testing.T) {
	all := append(slices.Clone(services.Subgraphs), services.Router, services.Worker)
	name := regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	seen := map[string]string{}
	once := func(kind, value, owner string) {
		t.Helper()
		key := kind + " " + value
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s share %s", other, owner, key)
		}
		seen[key] = owner
	}
	for _, s := range all {
		require.Regexp(t, name, s.Name)
		once("name", s.Name, s.Name)
		require.True(t, s.Port > 1024 && s.Port < 65536, "%s: port %d", s.Name, s.Port)
		once("port", s.Addr(""), s.Name)
		require.True(t, s.RedisDB >= 0 && s.RedisDB < 16, "%s: Redis DB %d (Redis has 16)", s.Name, s.RedisDB)
		if s.RedisDB != services.QueueRedisDB {
			once("Redis DB", strconv.Itoa(s.RedisDB), s.Name)
		}
	}
	for _, s := range services.Subgraphs {
		require.NotEmpty(t, s.Database, s.Name)
		require.NotEmpty(t, s.Health, s.Name)
		once("database", s.Database, s.Name)
		once("health name", s.Health, s.Name)
		require.Equal(t, s, services.MustSubgraph(s.Name))
	}
	require.Contains(t, services.Names(), "notifications")
	require.Equal(t, services.MustSubgraph("notifications").Database, services.Worker.Database, "the worker is the notifications service's")
	require.Panics(t, func() { services.MustSubgraph("nonesuch") })
}

// A registered subgraph has its SDL, its migrations and its package, and
// every SDL, schema and subgraph package is registered: adding a subgraph
// means adding all four.
func TestRegistryMatchesTheTree(t *testing.T) {
	var names []string
	for _, s := range services.Subgraphs {
		names = append(names, s.Name)
		sdl, err := os.ReadFile(filepath.Join(root, "graph", s.Name+".graphqls"))
		require.NoError(t, err, "%s: its SDL", s.Name)
		hasSubscription := regexp.MustCompile(`(?m)^(extend\s+)?type\s+Subscription\b`).Match(sdl)
		require.Equal(t, hasSubscription, s.Subscriptions, "%s: Subscriptions must say whether graph/%s.graphqls has a Subscription type", s.Name, s.Name)
		for _, p := range []string{"sql/" + s.Name + "/migrations", "subgraphs/" + s.Name + "/cmd/" + s.Name + "/main.go"} {
			_, err := os.Stat(filepath.Join(root, p))
			require.NoError(t, err, "%s: %s", s.Name, p)
		}
	}
	sdls, err := filepath.Glob(filepath.Join(root, "graph", "*.graphqls"))
	require.NoError(t, err)
	for _, f := range sdls {
		require.Contains(t, names, strings.TrimSuffix(filepath.Base(f), ".graphqls"), "%s has no registry line", f)
	}
	for dir, except := range map[string]string{"sql": "outbox", "subgraphs": "internal"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		require.NoError(t, err)
		for _, e := range entries {
			if e.IsDir() && e.Name() != except {
				require.Contains(t, names, e.Name(), "%s/%s has no registry line", dir, e.Name())
			}
		}
	}
}

func TestLocalDefaults(t *testing.T) {
	s := services.Service{Name: "demo", Port: 8009, Database: "demo_service_db", RedisDB: 7}
	require.Equal(t, "DEMO_", s.EnvPrefix())
	require.Equal(t, "postgres://postgres@db:5432/demo_service_db?sslmode=disable", s.DatabaseURL("db"))
	var c config.Subgraph
	s.LocalDefaults(&c)
	require.Equal(t, "127.0.0.1:8009", c.HTTPAddr)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/demo_service_db?sslmode=disable", c.DatabaseURL)
	require.Equal(t, "redis://127.0.0.1:6379/7", c.RedisURL)
	require.Equal(t, "redis://127.0.0.1:6379/3", c.QueueRedisURL)
}
