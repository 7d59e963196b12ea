package router_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestAutomaticPersistedQueries follows Apollo's APQ protocol as its clients
// do: the hash alone first, then hash and query once, then the hash alone by
// POST and GET; the query is kept in Redis DB 0 for the other replicas, once
// the router admitted it.
func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const query = `{ latestReview { body } }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := func(version int, hash string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": version, "sha256Hash": hash}}
	}
	post := func(body map[string]any, headers ...string) gqlResult {
		t.Helper()
		b, err := json.Marshal(body)
		require.NoError(t, err)
		return e.do(http.MethodPost, "/graphql", "application/json", b, headers...)
	}

	before := e.reviews.Requests.Load()
	res := post(map[string]any{"extensions": ext(1, hash)})
	require.Equal(t, http.StatusOK, res.Status, "application/json: 200, as for other request errors: %s", res.Raw)
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", res.errorCode())
	require.Equal(t, "PersistedQueryNotFound", res.errorMessage(), "the message clients look for")
	res = post(map[string]any{"extensions": ext(1, hash)}, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", res.errorCode())
	require.Equal(t, before, e.reviews.Requests.Load(), "no subgraph is asked")

	// Only operations the router admits are kept: an invalid one is not.
	const invalid = `{ nope }`
	invalidSum := sha256.Sum256([]byte(invalid))
	invalidHash := hex.EncodeToString(invalidSum[:])
	res = post(map[string]any{"query": invalid, "extensions": ext(1, invalidHash)}, modernAccept...)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.errorCode(), string(res.Raw))
	res = post(map[string]any{"extensions": ext(1, invalidHash)})
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", res.errorCode(), string(res.Raw))

	res = post(map[string]any{"query": query, "extensions": ext(1, hash)})
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors)
	want := map[string]any{"latestReview": map[string]any{"body": "latest"}}
	require.Equal(t, want, res.Data)

	res = post(map[string]any{"extensions": ext(1, hash)})
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, want, res.Data)
	extJSON, err := json.Marshal(ext(1, hash))
	require.NoError(t, err)
	res = e.do(http.MethodGet, "/graphql?"+url.Values{"extensions": {string(extJSON)}}.Encode(), "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Equal(t, want, res.Data)

	opt, err := redis.ParseURL(e.redis.URL(0))
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { require.NoError(t, rdb.Close()) })
	stored, err := rdb.Get(context.Background(), "router:apq:"+hash).Result()
	require.NoError(t, err, "kept where every replica finds it")
	require.Equal(t, query, stored)
	require.Positive(t, rdb.TTL(context.Background(), "router:apq:"+hash).Val())

	other := sha256.Sum256([]byte(`{ me { id } }`))
	for _, tc := range []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"hash of another query", map[string]any{"query": query, "extensions": ext(1, hex.EncodeToString(other[:]))}, "provided sha does not match query"},
		{"unknown version", map[string]any{"extensions": ext(2, hash)}, "unsupported persisted query version 2"},
		{"not a hash", map[string]any{"extensions": ext(1, "abc")}, "64 hexadecimal digits"},
	} {
		res := post(tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", tc.name, res.Raw)
		require.Equal(t, "BAD_REQUEST", res.errorCode(), tc.name)
		require.Contains(t, res.errorMessage(), tc.msg, tc.name)
	}
}
