package router_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/router"
)

// binaryBomb is the review's fragment bomb: each of n fragments spreads the
// next twice, 2^n fields once inlined, in a few dozen bytes per fragment.
func binaryBomb(n int) string {
	var b strings.Builder
	b.WriteString(`{ usersPage { edges { node { ...F0 } } } }`)
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on User { id ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on User { id }", n)
	return b.String()
}

// wideBomb spreads each fragment into the previous one `spreads` times, with
// as many fragments as fit in size bytes.
func wideBomb(size, spreads int) string {
	var b strings.Builder
	b.WriteString(`{ usersPage { edges { node { ...W0 } } } }`)
	for i := 0; ; i++ {
		var f strings.Builder
		fmt.Fprintf(&f, " fragment W%d on User { id username", i)
		for range spreads {
			fmt.Fprintf(&f, " ...W%d", i+1)
		}
		f.WriteString(" }")
		last := fmt.Sprintf(" fragment W%d on User { id }", i+1)
		if b.Len()+f.Len()+len(last) > size {
			fmt.Fprintf(&b, " fragment W%d on User { id }", i)
			return b.String()
		}
		b.WriteString(f.String())
	}
}

// binaryBombOfSize is binaryBomb with as many fragments as fit in size bytes.
func binaryBombOfSize(size int) string {
	n := 16
	for len(binaryBomb(n+1)) <= size {
		n++
	}
	return binaryBomb(n)
}

// cpuTime is the CPU this process (router, subgraphs and test alike) has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// requireFieldsLimit checks one GraphQL error of the fields limit.
func requireFieldsLimit(t *testing.T, errs []map[string]any, raw []byte) {
	t.Helper()
	require.NotEmpty(t, errs, string(raw))
	ext, _ := errs[0]["extensions"].(map[string]any)
	require.Equal(t, "OPERATION_LIMIT_EXCEEDED", ext["code"], string(raw))
	limit, _ := ext["limit"].(map[string]any)
	require.Equal(t, "fields", limit["name"], string(raw))
	require.Equal(t, "ROUTER_MAX_FIELDS", limit["setting"], string(raw))
	require.Contains(t, errs[0]["message"], "ROUTER_MAX_FIELDS")
}

// TestFragmentBombCostsNoCPU: a fragment bomb is a small document that passes
// every per-document limit (depth 4, no aliases, few tokens) and explodes
// only in normalization, which inlines its fragments: the review's 16
// fragments cost 12.8 s of CPU there. The fields limit counts the inlined
// fields without inlining (once per fragment), so the router refuses it, and
// bombs up to the query size limit, over every transport, for a few
// milliseconds of CPU each.
//
// Not parallel: the process's CPU time is measured, and no other test may
// spend any meanwhile.
func TestFragmentBombCostsNoCPU(t *testing.T) {
	e := setup(t, func(_ *env, c *router.Config) {
		// Only the fields limit stands between the largest bombs and
		// normalization (the token limit would refuse them earlier).
		c.MaxTokens = 0
		c.RateLimit = false
	})
	bombs := map[string]string{
		"16 fragments, each spreading the next twice": binaryBomb(16),
		"binary, up to the size limit":                binaryBombOfSize(32 << 10),
		"wide, up to the size limit":                  wideBomb(32<<10, 50),
	}
	for name, q := range bombs {
		require.LessOrEqual(t, len(q), 32<<10, name)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(body []byte) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/graphql-response+json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, raw
	}
	decode := func(raw []byte) []map[string]any {
		var out struct {
			Errors []map[string]any `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return out.Errors
	}
	ws := e.dial("graphql-transport-ws", nil)
	ws.init(nil)

	// Warm up (connections, pools) outside the measurement.
	status, raw := post([]byte(`{"query":"{ __typename }"}`))
	require.Equal(t, http.StatusOK, status, string(raw))

	requests := 0
	before := cpuTime(t)
	for name, q := range bombs {
		body, _ := json.Marshal(map[string]any{"query": q})
		status, raw := post(body)
		require.Equal(t, http.StatusBadRequest, status, "POST %s: %s", name, raw)
		requireFieldsLimit(t, decode(raw), raw)

		req, err := http.NewRequest(http.MethodGet, e.url+"/graphql?query="+url.QueryEscape(q), nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "application/graphql-response+json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "GET %s: %s", name, raw)
		requireFieldsLimit(t, decode(raw), raw)

		batch, _ := json.Marshal([]map[string]any{{"query": q}, {"query": "{ __typename }"}, {"query": q}})
		status, raw = post(batch)
		require.Equal(t, http.StatusOK, status, "batch %s: %s", name, raw)
		var items []struct {
			Data   map[string]any   `json:"data"`
			Errors []map[string]any `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(raw, &items), string(raw))
		require.Len(t, items, 3)
		requireFieldsLimit(t, items[0].Errors, raw)
		require.Equal(t, map[string]any{"__typename": "Query"}, items[1].Data, "the batch's other items still run")
		requireFieldsLimit(t, items[2].Errors, raw)

		ws.send(map[string]any{"id": "bomb", "type": "subscribe", "payload": map[string]any{"query": q}})
		msg, err := json.Marshal(ws.mustRead())
		require.NoError(t, err)
		var m struct {
			ID      string           `json:"id"`
			Type    string           `json:"type"`
			Payload []map[string]any `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(msg, &m), string(msg))
		require.Equal(t, "error", m.Type, string(msg))
		require.Equal(t, "bomb", m.ID)
		requireFieldsLimit(t, m.Payload, msg)
		requests += 5
	}
	spent := cpuTime(t) - before
	t.Logf("%d bomb rejections (POST, GET, batch ×2, WebSocket; %d documents of up to 32 KiB) cost %v of CPU, %v each",
		requests, len(bombs), spent, spent/time.Duration(requests))
	require.Less(t, spent, 500*time.Millisecond, "refusing fragment bombs must cost (well under) a second of CPU")
	require.Zero(t, e.accounts.Requests.Load()+e.reviews.Requests.Load(), "no bomb reaches a subgraph")
	_ = ws.conn.Close(websocket.StatusNormalClosure, "")
}

// TestFieldsLimitCountsInlinedFields: the fields limit counts what inlining
// would produce, and the defaults admit legitimate documents, GraphiQL's
// introspection query above all.
func TestFieldsLimitCountsInlinedFields(t *testing.T) {
	t.Parallel()
	e := setup(t, func(_ *env, c *router.Config) { c.MaxFields = 8 })
	// 2 + 2×3 = 8 fields: at the limit.
	ok := `{ usersPage { edges { ...E ...E } } } fragment E on UserEdge { cursor node { id } }`
	res := e.post(ok, nil, modernAccept...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	// One spread more: 11.
	res = e.post(strings.Replace(ok, "...E ...E", "...E ...E ...E", 1), nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireFieldsLimit(t, res.Errors, res.Raw)
	require.Contains(t, res.errorMessage(), "11 > 8")
	// Inline fragments and __typename count like any field: 9.
	res = e.post(`{ __typename usersPage { ... on UserConnection { edges { __typename cursor node { id username __typename } } } } }`, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	requireFieldsLimit(t, res.Errors, res.Raw)

	defaults := setup(t)
	res = defaults.post(introspectionQuery, nil, modernAccept...)
	require.Equal(t, http.StatusOK, res.Status, string(res.Raw))
	require.Empty(t, res.Errors)
	// A fragment cycle is refused while counting, before normalization.
	res = defaults.post(`{ usersPage { edges { node { ...A } } } } fragment A on User { id ...B } fragment B on User { ...C } fragment C on User { ...A }`, nil, modernAccept...)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Raw))
	require.Contains(t, res.errorMessage(), "cycle")
}
