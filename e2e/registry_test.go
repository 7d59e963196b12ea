package e2e_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/services"
	"supergraph/router"
	"supergraph/worker"
)

// The router and the worker keep their own defaults; they must say what the
// service registry says (the subgraphs take theirs from it directly).
func TestRouterAndWorkerDefaultsAgreeWithTheRegistry(t *testing.T) {
	local := services.LocalHost
	users := services.MustSubgraph("users")

	r := router.DefaultConfig()
	require.Equal(t, services.Router.EnvPrefix(), router.EnvPrefix)
	_, port, err := net.SplitHostPort(r.HTTPAddr)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(services.Router.Port), port, "ROUTER_HTTP_ADDR")
	require.Equal(t, services.Router.RedisURL(local), r.RedisURL, "ROUTER_REDIS_URL")
	require.Equal(t, users.RedisURL(local), r.DenyListRedisURL, "ROUTER_DENYLIST_REDIS_URL: the users service's deny-list")
	require.Equal(t, "http://"+users.Addr(local)+"/.well-known/jwks.json", r.JWKSURL, "ROUTER_JWKS_URL: the users service's key set")

	w := worker.DefaultConfig()
	require.Equal(t, services.Worker.EnvPrefix(), worker.EnvPrefix)
	require.Equal(t, services.Worker.Addr(local), w.HTTPAddr, "WORKER_HTTP_ADDR")
	require.Equal(t, services.Worker.DatabaseURL(local), w.DatabaseURL, "WORKER_DATABASE_URL")
	require.Equal(t, services.Worker.RedisURL(local), w.RedisURL, "WORKER_REDIS_URL")
}

// The end-to-end platform starts every registered subgraph, and only those.
func TestE2EStartsEveryRegisteredSubgraph(t *testing.T) {
	var started []string
	for name := range subgraphStarters {
		started = append(started, name)
	}
	require.ElementsMatch(t, services.Names(), started, "subgraphStarters (e2e/platform_env_test.go) against the registry")
}
