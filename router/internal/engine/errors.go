package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/graphql_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"
)

// asyncErrorWriter reports failures the resolver meets outside a request's own
// goroutine (a subscription that cannot start upstream, a failed update). The
// resolver requires one: it calls it without a nil check.
type asyncErrorWriter struct {
	subgraphs []Subgraph
	log       *slog.Logger
}

func (a asyncErrorWriter) WriteError(ctx *resolve.Context, err error, _ *resolve.GraphQLResponse, w io.Writer) {
	msg, code := "Internal server error", "INTERNAL_SERVER_ERROR"
	var upgrade *graphql_datasource.UpgradeRequestError
	switch {
	case errors.As(err, &upgrade):
		name := "unknown"
		for _, sg := range a.subgraphs {
			if sg.SubscriptionURL == upgrade.URL || httpURL(sg.SubscriptionURL) == upgrade.URL {
				name = sg.Name
			}
		}
		msg = fmt.Sprintf("Subscription upgrade request failed for Subgraph '%s' (status %d).", name, upgrade.StatusCode)
		code = "SUBGRAPH_UNAVAILABLE"
	case ctx != nil && ctx.Context().Err() != nil:
		return // the client is gone: nobody to tell
	default:
		msg, code = "Subscription failed upstream.", "SUBGRAPH_UNAVAILABLE"
	}
	a.log.Warn("subscription error", "err", err)
	body, _ := json.Marshal(map[string]any{"errors": []Error{{Message: msg, Extensions: map[string]any{"code": code}}}})
	_, _ = w.Write(body)
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}

// httpURL maps a ws(s):// URL to the http(s):// one the engine dials.
func httpURL(u string) string {
	switch {
	case len(u) > 6 && u[:6] == "wss://":
		return "https://" + u[6:]
	case len(u) > 5 && u[:5] == "ws://":
		return "http://" + u[5:]
	}
	return u
}

var fetchFailedPrefix = []byte(`Failed to fetch from Subgraph '`)

// annotateFetchErrors gives the engine's "Failed to fetch from Subgraph 'x'."
// errors the platform's code (SUBGRAPH_UNAVAILABLE) and the subgraph's name, so
// clients can tell an outage from a bug. Responses without such an error (the
// common case) pass through untouched.
func annotateFetchErrors(resp []byte) []byte {
	if !bytes.Contains(resp, fetchFailedPrefix) {
		return resp
	}
	var r struct {
		Errors     []map[string]any `json:"errors"`
		Data       json.RawMessage  `json:"data,omitempty"`
		Extensions json.RawMessage  `json:"extensions,omitempty"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return resp
	}
	for _, e := range r.Errors {
		msg, _ := e["message"].(string)
		rest, ok := strings.CutPrefix(msg, string(fetchFailedPrefix))
		if !ok {
			continue
		}
		ext, _ := e["extensions"].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			e["extensions"] = ext
		}
		if _, has := ext["code"]; !has {
			ext["code"] = "SUBGRAPH_UNAVAILABLE"
		}
		if name, _, ok := strings.Cut(rest, "'"); ok {
			if _, has := ext["serviceName"]; !has {
				ext["serviceName"] = name
			}
		}
	}
	out, err := json.Marshal(r)
	if err != nil {
		return resp
	}
	return out
}
