package router

// What the router tells HTTP clients about admission: the RateLimit headers
// and extensions.cost; and the client address anonymous budgets are kept by.

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	"supergraph/router/internal/pipeline"
	"supergraph/router/internal/ratelimit"
)

// CostHeader asks for the operation's estimated cost in the response's
// extensions.cost (any value but "", "0" and "false"). ROUTER_EXPOSE_COST
// reports it on every response.
const CostHeader = "X-Include-Cost"

// setRateHeaders sets the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers)
// and, on refusals, Retry-After.
func (r *Router) setRateHeaders(h http.Header, d *ratelimit.Decision) {
	if d == nil || d.Limit == 0 {
		return
	}
	// Canonical keys set directly: Header.Set would canonicalise (and
	// allocate) each name on every response.
	limit := strconv.Itoa(d.Limit)
	h["Ratelimit-Limit"] = []string{limit}
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(pipeline.Seconds(d.Reset))}
	h["Ratelimit-Policy"] = []string{limit + ";w=" + strconv.Itoa(pipeline.Seconds(r.cfg.RateLimitWindow))}
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(pipeline.Seconds(d.RetryAfter), 1)))
	}
}

// clientIP is the address anonymous budgets are kept by: the peer's, or with
// ROUTER_CLIENT_IP_HEADER (behind a trusted proxy) that header's: the last
// X-Forwarded-For entry is the one the proxy itself added.
func (r *Router) clientIP(req *http.Request) string {
	if h := r.cfg.ClientIPHeader; h != "" {
		if v := req.Header.Values(h); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// wantsCost reports whether the response should carry extensions.cost.
func (r *Router) wantsCost(req *http.Request) bool {
	if r.cfg.ExposeCost {
		return true
	}
	v := strings.TrimSpace(req.Header.Get(CostHeader))
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// withCost adds extensions.cost to a GraphQL response object, keeping any other
// extensions the response has.
func (r *Router) withCost(resp []byte, cost int) []byte {
	report := pipeline.CostReport{Estimated: cost, Limit: r.cfg.MaxCost}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(resp, &top); err != nil {
		return resp
	}
	ext := map[string]json.RawMessage{}
	if raw, ok := top["extensions"]; ok {
		_ = json.Unmarshal(raw, &ext)
	}
	ext["cost"], _ = json.Marshal(report)
	top["extensions"], _ = json.Marshal(ext)
	// The order the engine writes: errors, data, then extensions.
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, k := range []string{"errors", "data", "extensions"} {
		v, ok := top[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(k) + ":")
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}
