package router_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/router"
)

func sha(q string) string {
	s := sha256.Sum256([]byte(q))
	return hex.EncodeToString(s[:])
}

// postAPQ sends a query with its persisted-query hash (query "" sends the hash alone).
func (e *env) postAPQ(hash, query string) gqlResult {
	e.t.Helper()
	m := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		m["query"] = query
	}
	body, _ := json.Marshal(m)
	return e.do(http.MethodPost, "/graphql", "application/json", body, modernAccept...)
}

// requireQueryBytesLimit checks one GraphQL error of the query size limit.
func requireQueryBytesLimit(t *testing.T, errs []map[string]any, raw []byte) {
	t.Helper()
	require.NotEmpty(t, errs, string(raw))
	ext, _ := errs[0]["extensions"].(map[string]any)
	require.Equal(t, "OPERATION_LIMIT_EXCEEDED", ext["code"], string(raw))
	limit, _ := ext["limit"].(map[string]any)
	require.Equal(t, "query bytes", limit["name"], string(raw))
	require.Equal(t, "ROUTER_MAX_QUERY_BYTES", limit["setting"], string(raw))
	require.Equal(t, float64(32<<10), limit["max"], string(raw))
}

// apqKeys returns the persisted queries in the router's Redis DB and the
// bytes of their text.
func (e *env) apqKeys() (int, int) {
	e.t.Helper()
	opt, err := redis.ParseURL(e.redis.URL(0))
	require.NoError(e.t, err)
	rdb := redis.NewClient(opt)
	defer func() { require.NoError(e.t, rdb.Close()) }()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "router:apq:*").Result()
	require.NoError(e.t, err)
	total := 0
	for _, k := range keys {
		n, err := rdb.StrLen(ctx, k).Result()
		require.NoError(e.t, err)
		total += int(n)
	}
	return len(keys), total
}

// TestOversizedQueryIsRefused: a document of a long comment and
// `{ __typename }` has a handful of tokens and passed every limit; 400 of
// them registered as persisted queries grew the router's heap by 363 MB and
// Redis by 402 MB. The query text is now bounded in bytes as sent, before
// anything reads it, over every transport and for persisted-query
// registrations, which then store nothing.
func TestOversizedQueryIsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	huge := "# " + strings.Repeat("a", 900_000) + "\n{ __typename }"

	res := e.post(huge, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireQueryBytesLimit(t, res.Errors, res.Raw)
	require.Contains(t, res.errorMessage(), "ROUTER_MAX_QUERY_BYTES")
	// Legacy application/json clients get the 400 too: it is no validation error.
	res = e.post(huge, nil)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireQueryBytesLimit(t, res.Errors, res.Raw)

	// GET (a URL of 100 KB: servers refuse far longer ones on their own).
	get := "# " + strings.Repeat("a", 100_000) + "\n{ __typename }"
	res = e.do(http.MethodGet, "/graphql?query="+url.QueryEscape(get), "", nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireQueryBytesLimit(t, res.Errors, res.Raw)

	// A batch: the item alone fails.
	body, _ := json.Marshal([]map[string]any{{"query": huge}, {"query": "{ __typename }"}})
	res = e.do(http.MethodPost, "/graphql", "application/json", body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	var items []struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(res.Raw, &items))
	require.Len(t, items, 2)
	requireQueryBytesLimit(t, items[0].Errors, res.Raw)
	require.Equal(t, map[string]any{"__typename": "Query"}, items[1].Data)

	// WebSocket.
	ws := e.dial("graphql-transport-ws", nil)
	ws.init(nil)
	ws.send(map[string]any{"id": "big", "type": "subscribe", "payload": map[string]any{"query": huge}})
	m := ws.mustRead()
	require.Equal(t, "error", m["type"], m)
	raw, _ := json.Marshal(m["payload"])
	var errs []map[string]any
	require.NoError(t, json.Unmarshal(raw, &errs))
	requireQueryBytesLimit(t, errs, raw)

	// A persisted-query registration is refused and stores nothing.
	res = e.postAPQ(sha(huge), huge)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireQueryBytesLimit(t, res.Errors, res.Raw)
	res = e.postAPQ(sha(huge), "")
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", res.errorCode(), string(res.Raw))
	n, _ := e.apqKeys()
	require.Zero(t, n, "nothing reached Redis")

	// The bound is on bytes as sent, comments included: 32 KiB passes, one byte more does not.
	at := "{ __typename }\n#" + strings.Repeat("b", 32<<10-len("{ __typename }\n#"))
	require.Len(t, at, 32<<10)
	res = e.post(at, nil, modernAccept...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	res = e.post(at+"b", nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireQueryBytesLimit(t, res.Errors, res.Raw)
}

// cacheBytes reads router_cache_bytes{cache=name} from /metrics.
func (e *env) cacheBytes(name string) int {
	e.t.Helper()
	resp, err := http.Get(e.adminURL + "/metrics")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	prefix := `router_cache_bytes{cache="` + name + `"} `
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(e.t, err)
			return int(f)
		}
	}
	e.t.Fatalf("no %s in /metrics", prefix)
	return 0
}

// TestDocumentCachesAreBoundedByBytes: many distinct documents of the
// largest allowed size, registered as persisted queries, leave the
// prepared-document cache and the local persisted-query cache within their
// byte bounds, and Redis within the persisted queries' cap: past it, queries
// are kept locally only (and their clients send the text again after a miss).
func TestDocumentCachesAreBoundedByBytes(t *testing.T) {
	t.Parallel()
	const (
		preparedBytes = 256 << 10
		localBytes    = 192 << 10
		redisBytes    = 320 << 10
	)
	e := setup(t, func(_ *env, c *router.Config) {
		c.PreparedCacheBytes = preparedBytes
		c.PersistedQueryCacheBytes = localBytes
		c.PersistedQueryRedisBytes = redisBytes
		c.RateLimit = false
	})
	doc := func(i int) string {
		q := fmt.Sprintf("{ __typename }\n# document %d ", i)
		return q + strings.Repeat("x", 32<<10-len(q))
	}
	const n = 60 // 1.9 MiB of documents
	for i := range n {
		res := e.postAPQ(sha(doc(i)), doc(i))
		require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
		require.Equal(t, map[string]any{"__typename": "Query"}, res.Data)
	}
	prepared, local := e.cacheBytes("prepared_documents"), e.cacheBytes("persisted_queries")
	t.Logf("after %d documents of 32 KiB: prepared documents %d bytes, persisted queries %d bytes locally", n, prepared, local)
	require.LessOrEqual(t, prepared, preparedBytes)
	require.Greater(t, prepared, preparedBytes/2, "the cache is used up to its bound")
	require.LessOrEqual(t, local, localBytes)
	require.Greater(t, local, localBytes/2)

	keys, stored := e.apqKeys()
	t.Logf("Redis holds %d persisted queries, %d bytes of text", keys, stored)
	require.LessOrEqual(t, stored, redisBytes)
	require.GreaterOrEqual(t, keys, 5, "queries are stored in Redis up to the cap")
	require.Less(t, keys, n)

	// The first documents are served from Redis, the last from the local
	// cache; those in between, kept nowhere, are asked for again.
	for _, i := range []int{0, 1, n - 1} {
		res := e.postAPQ(sha(doc(i)), "")
		require.Equal(t, http.StatusOK, res.Status, "document %d: %s", i, res.Raw)
	}
	res := e.postAPQ(sha(doc(n/2)), "")
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", res.errorCode(), string(res.Raw))
}
