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

	"supergraph/platform/apperr"
)

// asyncErrorWriter reports failures the resolver meets outside a request's own
// goroutine (a subscription that cannot start upstream, a failed update). The
// resolver requires one: it calls it without a nil check.
type asyncErrorWriter struct {
	subgraphs []Subgraph
	log       *slog.Logger
}

func (a asyncErrorWriter) WriteError(ctx *resolve.Context, err error, _ *resolve.GraphQLResponse, w io.Writer) {
	msg := "Subscription failed upstream."
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
	case ctx != nil && ctx.Context().Err() != nil:
		return // the client is gone: nobody to tell
	}
	a.log.Warn("subscription error", "err", err)
	body, _ := json.Marshal(map[string]any{"errors": []Error{{Message: msg, Extensions: map[string]any{"code": apperr.CodeSubgraphUnavailable}}}})
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

var (
	fetchFailedPrefix = `Failed to fetch from Subgraph '`
	nullFieldPrefix   = "Cannot return null for non-nullable "
	errorsFirst       = []byte(`{"errors":`)
)

// responseError is one error of a response, as far as shapeErrors needs it.
type responseError struct {
	Message    string                     `json:"message"`
	Path       []any                      `json:"path,omitempty"`
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// shapeErrors gives the engine's own errors the platform's shape (every error
// carries extensions.code):
//   - "Failed to fetch from Subgraph 'x'." gets SUBGRAPH_UNAVAILABLE and the
//     subgraph's name (serviceName), so clients can tell an outage from a bug;
//   - "Cannot return null for non-nullable field …", added when a null
//     bubbles up, is dropped when another error already covers its path (the
//     subgraph's field error that caused the null), and otherwise gets
//     SUBGRAPH_INVALID_RESPONSE (the subgraph returned null without a reason).
//
// Responses without errors (the common case) pass through untouched; the
// engine writes "errors" first, so one prefix check tells.
func shapeErrors(resp []byte) []byte {
	if !bytes.HasPrefix(resp, errorsFirst) {
		return resp
	}
	var r struct {
		Errors     []json.RawMessage `json:"errors"`
		Data       json.RawMessage   `json:"data,omitempty"`
		Extensions json.RawMessage   `json:"extensions,omitempty"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return resp
	}
	errs := make([]responseError, len(r.Errors))
	for i, raw := range r.Errors {
		if err := json.Unmarshal(raw, &errs[i]); err != nil {
			return resp
		}
	}
	changed := false
	out := r.Errors[:0:0]
	for i, raw := range r.Errors {
		e := &errs[i]
		if _, has := e.Extensions["code"]; has {
			out = append(out, raw)
			continue
		}
		switch {
		case strings.HasPrefix(e.Message, fetchFailedPrefix):
			setExt(e, "code", apperr.CodeSubgraphUnavailable)
			if name, _, ok := strings.Cut(strings.TrimPrefix(e.Message, fetchFailedPrefix), "'"); ok {
				if _, has := e.Extensions["serviceName"]; !has {
					setExt(e, "serviceName", name)
				}
			}
		case strings.HasPrefix(e.Message, nullFieldPrefix):
			if covered(errs, i) {
				changed = true
				continue
			}
			setExt(e, "code", apperr.CodeSubgraphInvalidResponse)
		default:
			out = append(out, raw)
			continue
		}
		b, err := json.Marshal(e)
		if err != nil {
			return resp
		}
		out = append(out, b)
		changed = true
	}
	if !changed {
		return resp
	}
	r.Errors = out
	var b []byte
	var err error
	if len(out) == 0 {
		b, err = json.Marshal(struct {
			Data       json.RawMessage `json:"data,omitempty"`
			Extensions json.RawMessage `json:"extensions,omitempty"`
		}{r.Data, r.Extensions})
	} else {
		b, err = json.Marshal(r)
	}
	if err != nil {
		return resp
	}
	return b
}

func setExt(e *responseError, key, value string) {
	if e.Extensions == nil {
		e.Extensions = map[string]json.RawMessage{}
	}
	e.Extensions[key], _ = json.Marshal(value)
}

// covered reports whether an error other than a null propagation explains
// errs[i]: one without a path (a whole fetch failed), or one whose path is
// errs[i]'s or lies on it (above it, or below it).
func covered(errs []responseError, i int) bool {
	for j := range errs {
		o := &errs[j]
		if j == i || strings.HasPrefix(o.Message, nullFieldPrefix) {
			continue
		}
		if len(o.Path) == 0 || pathPrefix(o.Path, errs[i].Path) || pathPrefix(errs[i].Path, o.Path) {
			return true
		}
	}
	return false
}

func pathPrefix(prefix, path []any) bool {
	if len(prefix) > len(path) {
		return false
	}
	for k := range prefix {
		if fmt.Sprint(prefix[k]) != fmt.Sprint(path[k]) {
			return false
		}
	}
	return true
}
