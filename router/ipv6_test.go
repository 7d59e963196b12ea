package router_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// TestIPv6ClientsAreCountedPerNetwork: one IPv6 host can send from any
// address of its /64, so keying anonymous clients by exact address gave it
// unlimited fresh budgets and connection slots (and subscription slots, keyed
// the same way). An IPv6 client is counted by its /64
// (ROUTER_RATE_LIMIT_IPV6_PREFIX) for all of them; IPv4 addresses,
// IPv4-mapped IPv6 ones included, stay whole. The addresses reach the router as a trusted
// proxy's X-Forwarded-For (ROUTER_CLIENT_IP_HEADER).
func TestIPv6ClientsAreCountedPerNetwork(t *testing.T) {
	t.Parallel()
	e := setup(t, rateLimited(30, time.Minute), func(_ *env, c *router.Config) { c.MaxConnectionsPerIP = 1 })
	from := func(addr string) gqlResult { return e.post(costly, nil, "X-Forwarded-For", addr) }

	// Budgets: costly spends 18 of 30.
	res := from("2001:db8:1:2::1")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	res = from("2001:db8:1:2:abcd:ef01:2345:6789")
	require.Equal(t, http.StatusTooManyRequests, res.Status, "another address of the same /64 shares its budget: %s", res.Raw)
	require.Equal(t, "RATE_LIMITED", res.errorCode())
	res = from("2001:db8:1:3::1")
	require.Equal(t, http.StatusOK, res.Status, "another /64 has a budget of its own: %s", res.Raw)
	res = from("10.1.2.3")
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	res = from("::ffff:10.1.2.3")
	require.Equal(t, http.StatusTooManyRequests, res.Status, "an IPv4-mapped address is its IPv4 address: %s", res.Raw)
	res = from("10.1.2.4")
	require.Equal(t, http.StatusOK, res.Status, "IPv4 addresses are not grouped: %s", res.Raw)

	// WebSocket connection slots (one per client here).
	dial := func(addr string) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/graphql", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"X-Forwarded-For": {addr}},
		})
		if err != nil {
			require.NotNil(t, resp, err)
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn, resp.StatusCode
	}
	_, status := dial("2001:db8:5:6::1")
	require.Equal(t, http.StatusSwitchingProtocols, status)
	_, status = dial("2001:db8:5:6::2")
	require.Equal(t, http.StatusTooManyRequests, status, "the /64's one connection slot is taken")
	_, status = dial("2001:db8:5:7::1")
	require.Equal(t, http.StatusSwitchingProtocols, status, "another /64")

	// ROUTER_RATE_LIMIT_IPV6_PREFIX=128 counts each address alone.
	e = setup(t, rateLimited(30, time.Minute), func(_ *env, c *router.Config) { c.RateLimitIPv6Prefix = 128 })
	require.Equal(t, http.StatusOK, from("2001:db8:1:2::1").Status)
	require.Equal(t, http.StatusOK, from("2001:db8:1:2::2").Status, "per address at /128")
}
