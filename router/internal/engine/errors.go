package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

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
