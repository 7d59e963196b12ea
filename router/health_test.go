package router_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func (e *env) health(path string) (int, map[string]any) {
	e.t.Helper()
	resp, err := http.Get(e.url + path)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := setup(t)
	status, body := e.health("/api/health/")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "healthy", body["status"])
	require.Equal(t, "router", body["service"])
	require.Equal(t, "connected", body["redis"])
	require.Equal(t, map[string]any{"accounts": "healthy", "reviews": "healthy"}, body["subgraphs"])
	_, err := time.Parse(time.RFC3339, body["timestamp"].(string))
	require.NoError(t, err)

	status, _ = e.health("/health/ready")
	require.Equal(t, http.StatusOK, status)
	status, _ = e.health("/health/live")
	require.Equal(t, http.StatusOK, status)

	// A subgraph that answers GraphQL but reports its own dependencies down
	// (its database, say) is unhealthy in the report; the router stays ready.
	// accountsDegraded waits for the report to show accounts in state.
	accountsDegraded := func(state string) {
		t.Helper()
		require.Eventually(t, func() bool {
			status, body := e.health("/api/health/")
			return status == http.StatusOK && body["status"] == "degraded" &&
				body["subgraphs"].(map[string]any)["accounts"] == state
		}, 5*time.Second, 100*time.Millisecond, "accounts %s", state)
	}
	e.accounts.Unhealthy.Store(true)
	accountsDegraded("unhealthy")
	status, _ = e.health("/health/ready")
	require.Equal(t, http.StatusOK, status)
	e.accounts.Unhealthy.Store(false)
	require.Eventually(t, func() bool {
		_, body := e.health("/api/health/")
		return body["status"] == "healthy"
	}, 5*time.Second, 100*time.Millisecond)

	e.stopAcc()
	accountsDegraded("unreachable")
	status, _ = e.health("/health/ready")
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, _ = e.health("/health/live")
	require.Equal(t, http.StatusOK, status)

	e.redis.Stop()
	require.Eventually(t, func() bool {
		status, body := e.health("/api/health/")
		return status == http.StatusServiceUnavailable && body["status"] == "unhealthy" && body["redis"] == "disconnected"
	}, 5*time.Second, 100*time.Millisecond)
}
