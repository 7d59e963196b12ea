package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// hostileCase is one request body an attacker (or a broken client) sends.
type hostileCase struct {
	name string
	body []byte
}

// legitimate inputs of the corpus are large but valid: answering them
// normally is right (within the limits, which they are).
var legitimate = map[string]bool{"huge string variable": true, "10k variables": true}

func hostileJSON(query string, vars any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// nested is depth JSON arrays inside one another, around a number.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// hostileCorpus: fragment cycles and bombs, deep lists in variables, huge
// strings, invalid UTF-8, numbers out of range, duplicate keys, 10k-element
// variable arrays, and their kin.
func hostileCorpus() []hostileCase {
	tenK := make([]int, 10_000)
	return []hostileCase{
		{"fragment cycle", hostileJSON(`{ me { ...A } } fragment A on User { id ...B } fragment B on User { id ...A }`, nil)},
		{"self-spreading fragment", hostileJSON(`{ me { ...A } } fragment A on User { ...A }`, nil)},
		{"fragment bomb", hostileJSON(binaryBomb(20), nil)},
		{"wide fragment bomb", hostileJSON(wideBomb(30_000, 8), nil)},
		{"undefined fragment", hostileJSON(`{ me { ...Nope } }`, nil)},
		{"deep selection", hostileJSON(strings.Repeat("{ me ", 500)+strings.Repeat("}", 500), nil)},
		{"deep list in variables", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":` + nested(100_000) + `}}`)},
		{"deep object in variables", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":` + strings.Repeat(`{"a":`, 50_000) + "1" + strings.Repeat("}", 50_000) + `}}`)},
		{"deep list literal", hostileJSON(`{ users(first: `+nested(20_000)+`) { id } }`, nil)},
		{"huge string variable", hostileJSON(`query($id: ID!) { user(id: $id) { id } }`, map[string]any{"id": strings.Repeat("x", 900_000)})},
		{"huge string literal", hostileJSON(`{ user(id: "`+strings.Repeat("x", 900_000)+`") { id } }`, nil)},
		{"invalid UTF-8 in the query", []byte("{\"query\":\"{ user(id: \\\"\xff\xfe\\\") { id } }\"}")},
		{"invalid UTF-8 in a variable", []byte("{\"query\":\"query($id: ID!) { user(id: $id) { id } }\",\"variables\":{\"id\":\"\xc3\x28\"}}")},
		{"NUL in the query", hostileJSON("{ me { id } }\x00{ me { id } }", nil)},
		{"integer out of range (literal)", hostileJSON(`{ users(first: 99999999999999999999999) { id } }`, nil)},
		{"integer out of range (variable)", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":1e400}}`)},
		{"negative huge variable", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":-99999999999999999999}}`)},
		{"float for Int", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":1.5}}`)},
		{"duplicate keys in the body", []byte(`{"query":"{ me { id } }","query":"{ users { id } }"}`)},
		{"duplicate variable keys", []byte(`{"query":"query($n: Int) { users(first: $n) { id } }","variables":{"n":1,"n":"x"}}`)},
		{"10k-element variable array", hostileJSON(`query($n: Int) { users(first: $n) { id } }`, map[string]any{"n": tenK})},
		{"10k variables", func() []byte {
			vars := map[string]any{}
			for i := range 10_000 {
				vars[fmt.Sprint("v", i)] = i
			}
			return hostileJSON(`{ me { id } }`, vars)
		}()},
		{"10k aliases", hostileJSON("{"+strings.Repeat(" me { id }", 10_000)+" }", nil)},
		{"10k directives", hostileJSON("{ me { id"+strings.Repeat(" @include(if: true)", 5_000)+" } }", nil)},
		{"variables are an array", []byte(`{"query":"{ me { id } }","variables":[1,2,3]}`)},
		{"operationName is an object", []byte(`{"query":"{ me { id } }","operationName":{"a":1}}`)},
		{"query is a number", []byte(`{"query":12345}`)},
		{"truncated JSON", []byte(`{"query":"{ me { id } }","variables":{"n":`)},
		{"empty batch", []byte(`[]`)},
		{"batch of garbage", []byte(`[1, "x", null, {"query": 5}]`)},
		{"unterminated string in query", hostileJSON(`{ user(id: "abc) { id } }`, nil)},
		{"unknown persisted query", []byte(`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}}`)},
		// Over HTTP a mismatch is refused; WebSockets do not speak APQ and run the query.
		{"persisted query hash mismatch", []byte(`{"query":"{ me { id } }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("00", 32) + `"}}}`)},
		{"subscription over POST batch", []byte(`[{"query":"subscription { ticks(count: 1) { n } }"}]`)},
	}
}

// TestHostileInputCorpus sends every corpus entry over HTTP and WebSocket:
// every answer is a 4xx or a GraphQL error carrying extensions.code, never a
// 5xx, a panic or a hang, and the router's memory returns to its baseline.
func TestHostileInputCorpus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	client := &http.Client{Timeout: 10 * time.Second}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// Warm up (pools, caches of legitimate documents) before the baseline.
	e.post(`{ me { id } }`, nil)
	before := heap()

	for _, c := range hostileCorpus() {
		t.Run("HTTP/"+c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/graphql-response+json, application/json;q=0.9")
			resp, err := client.Do(req)
			require.NoError(t, err, "no answer (a hang or a crash)")
			defer resp.Body.Close()
			var out struct {
				Errors []struct {
					Message    string         `json:"message"`
					Extensions map[string]any `json:"extensions"`
				} `json:"errors"`
			}
			var raw bytes.Buffer
			_, _ = raw.ReadFrom(resp.Body)
			require.Less(t, resp.StatusCode, 500, "%s", raw.String())
			if resp.StatusCode < 400 {
				if err := json.Unmarshal(raw.Bytes(), &out); err != nil {
					// A batch answers with an array of results.
					var batch []json.RawMessage
					require.NoError(t, json.Unmarshal(raw.Bytes(), &batch), "%s", raw.String())
					return
				}
				require.True(t, legitimate[c.name] || len(out.Errors) > 0, "a hostile request was answered without an error: %s", raw.String())
			} else if json.Unmarshal(raw.Bytes(), &out) != nil {
				return // a plain 4xx (body too large, say) is an answer too
			}
			for _, e := range out.Errors {
				require.NotEmpty(t, e.Extensions["code"], "error without extensions.code: %s", raw.String())
				require.NotContains(t, e.Message, "goroutine", "a stack trace leaked")
			}
		})
	}

	for _, c := range hostileCorpus() {
		t.Run("WebSocket/"+c.name, func(t *testing.T) {
			ws := e.dial("graphql-transport-ws", nil)
			ws.init(nil)
			msg := []byte(`{"id":"1","type":"subscribe","payload":` + string(c.body) + `}`)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, ws.conn.Write(ctx, websocket.MessageText, msg))
			for {
				_, data, err := ws.conn.Read(ctx)
				if err != nil {
					var ce websocket.CloseError
					require.ErrorAs(t, err, &ce, "neither an answer nor a close within 10s: %v", err)
					require.GreaterOrEqual(t, int(ce.Code), 4000, "closed with %d %q", ce.Code, ce.Reason)
					require.Less(t, int(ce.Code), 4500, "closed with %d %q", ce.Code, ce.Reason)
					return
				}
				var m struct {
					Type    string          `json:"type"`
					Payload json.RawMessage `json:"payload"`
				}
				require.NoError(t, json.Unmarshal(data, &m))
				switch m.Type {
				case "ping", "pong":
					continue
				case "error":
					var errs []struct {
						Extensions map[string]any `json:"extensions"`
					}
					require.NoError(t, json.Unmarshal(m.Payload, &errs))
					require.NotEmpty(t, errs)
					for _, e := range errs {
						require.NotEmpty(t, e.Extensions["code"], "%s", data)
					}
					return
				case "next":
					fine := legitimate[c.name] || strings.Contains(c.name, "persisted query")
					require.True(t, fine || strings.Contains(string(m.Payload), `"code"`), "a hostile operation answered without an error: %s", data)
					require.Less(t, len(data), 4096, "a huge answer to a hostile operation")
					return
				default:
					t.Fatalf("unexpected %s", data)
				}
			}
		})
	}

	// Nothing the corpus made stays behind (caches hold at most their byte
	// bounds, every connection is gone).
	after := heap()
	require.Less(t, int64(after)-int64(before), int64(48<<20), "heap grew from %d to %d bytes", before, after)
}

// TestHostileGETParameters: GET's variables and extensions parameters are
// held to what a POST body is (duplicate keys, invalid UTF-8).
func TestHostileGETParameters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for name, vars := range map[string]string{
		"duplicate keys": `{"n":1,"n":"x"}`,
		"invalid UTF-8":  "{\"n\":\"\xff\"}",
	} {
		q := url.Values{"query": {`query($n: Int) { users(first: $n) { id } }`}, "variables": {vars}}
		r := e.do(http.MethodGet, "/graphql?"+q.Encode(), "", nil, "Accept", "application/graphql-response+json")
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", name, r.Raw)
		require.Equal(t, "BAD_REQUEST", r.errorCode(), name)
	}
}
