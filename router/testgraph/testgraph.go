// Package testgraph provides small but honest federation subgraphs for the
// router's tests: plain net/http handlers that parse the GraphQL the router sends
// (JSON, or GraphQL multipart requests carrying files), resolve root fields,
// _entities and subscriptions (graphql-transport-ws) from Go functions, and check
// the router's internal assertion like real subgraphs do.
package testgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"supergraph/platform/identity"
)

// Ctx is what a resolver knows about the request.
type Ctx struct {
	context.Context
	Principal identity.Principal
	// FromRouter is true when the request carried a valid router assertion.
	FromRouter bool
	Header     http.Header
}

// Field resolves a root field from its arguments.
type Field func(c Ctx, args map[string]any) (any, error)

// Entity resolves one _entities representation to an object (nil: not found).
type Entity func(c Ctx, rep map[string]any) (map[string]any, error)

// Stream starts a subscription; it sends objects until it closes the channel
// or ctx ends.
type Stream func(c Ctx, args map[string]any) (<-chan map[string]any, error)

// Subgraph is a test subgraph. Objects are map[string]any with "__typename";
// a value may be a Field (resolved lazily with the field's arguments).
type Subgraph struct {
	Name         string
	Verifier     *identity.Verifier
	Query        map[string]Field
	Mutation     map[string]Field
	Subscription map[string]Stream
	Entities     map[string]Entity

	// Requests counts HTTP GraphQL requests; EntityRequests those with
	// _entities; MultipartRequests those that came as multipart requests.
	Requests          atomic.Int64
	EntityRequests    atomic.Int64
	MultipartRequests atomic.Int64
	// OpenWebSockets counts upstream WebSocket connections open right now:
	// tests use it to prove the router lets go of connections it no longer needs.
	OpenWebSockets atomic.Int64
	// Unhealthy makes GET /api/health/ report the subgraph unhealthy (503), as
	// a real one does when its database is down; GraphQL still answers.
	Unhealthy atomic.Bool

	mu        sync.Mutex
	protocols []string
	headers   []http.Header
	wsConns   map[*websocket.Conn]struct{}
}

// DropWebSockets cuts every upstream WebSocket without a close frame, as a
// crashed subgraph would.
func (s *Subgraph) DropWebSockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.wsConns {
		c.CloseNow()
	}
}

// Protocols lists the WebSocket subprotocols upstream connections negotiated.
func (s *Subgraph) Protocols() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protocols...)
}

// Headers returns the headers of every HTTP request received so far.
func (s *Subgraph) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// Error is a resolver's error with an extensions.code.
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Message }

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type gqlResponse struct {
	Data   any        `json:"data"`
	Errors []gqlError `json:"errors,omitempty"`
}

// ServeHTTP answers GraphQL over HTTP (POST JSON) and WebSocket upgrades.
func (s *Subgraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/api/health/" {
		status, code := "healthy", http.StatusOK
		if s.Unhealthy.Load() {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "service": s.Name})
		return
	}
	c := s.ctxFor(r.Context(), r.Header)
	if r.Header.Get("Upgrade") != "" {
		s.serveWS(w, r, c)
		return
	}
	s.Requests.Add(1)
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	var req gqlRequest
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		s.MultipartRequests.Add(1)
		var err error
		if req, err = readMultipart(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.execute(c, req))
}

func (s *Subgraph) ctxFor(ctx context.Context, h http.Header) Ctx {
	c := Ctx{Context: ctx, Header: h}
	if tok := h.Get(identity.Header); tok != "" {
		if p, err := s.Verifier.Verify(tok); err == nil {
			c.Principal, c.FromRouter = p, true
		}
	}
	return c
}

func (s *Subgraph) execute(c Ctx, req gqlRequest) gqlResponse {
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return gqlResponse{Errors: []gqlError{{Message: err.Error()}}}
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil && len(doc.Operations) > 0 {
		op = doc.Operations[0]
	}
	if op == nil {
		return gqlResponse{Errors: []gqlError{{Message: "no operation"}}}
	}
	ex := &executor{c: c, vars: req.Variables, doc: doc}
	roots := s.Query
	if op.Operation == ast.Mutation {
		roots = s.Mutation
	}
	data := map[string]any{}
	for _, sel := range ex.fields(op.SelectionSet, "") {
		key := alias(sel)
		switch sel.Name {
		case "__typename":
			data[key] = "Query"
			continue
		case "_service":
			if !c.FromRouter {
				ex.errorf([]any{key}, "FORBIDDEN", "_service is for the router only")
				data[key] = nil
				continue
			}
		case "_entities":
			s.EntityRequests.Add(1)
			data[key] = s.entities(ex, sel)
			continue
		}
		f, ok := roots[sel.Name]
		if !ok {
			ex.errorf([]any{key}, "", "unknown field %s", sel.Name)
			data[key] = nil
			continue
		}
		v, err := f(c, ex.args(sel))
		if err != nil {
			var coded *Error
			code := ""
			if errors.As(err, &coded) {
				code = coded.Code
			}
			ex.errorf([]any{key}, code, "%v", err)
			data[key] = nil
			continue
		}
		data[key] = ex.project(v, sel.SelectionSet, []any{key})
	}
	return gqlResponse{Data: data, Errors: ex.errs}
}

func (s *Subgraph) entities(ex *executor, sel *ast.Field) any {
	if !ex.c.FromRouter {
		// Real subgraphs refuse _entities from anything but the router.
		ex.errorf([]any{alias(sel)}, "FORBIDDEN", "_entities is for the router only")
		return nil
	}
	reps, _ := ex.args(sel)["representations"].([]any)
	out := make([]any, len(reps))
	for i, r := range reps {
		rep, _ := r.(map[string]any)
		tn, _ := rep["__typename"].(string)
		resolve, ok := s.Entities[tn]
		if !ok {
			ex.errorf([]any{"_entities", i}, "", "no entity %s", tn)
			continue
		}
		obj, err := resolve(ex.c, rep)
		if err != nil {
			ex.errorf([]any{"_entities", i}, "", "%v", err)
			continue
		}
		if obj != nil {
			obj["__typename"] = tn
		}
		out[i] = ex.project(obj, sel.SelectionSet, []any{"_entities", i})
	}
	return out
}

type executor struct {
	c    Ctx
	vars map[string]any
	doc  *ast.QueryDocument
	errs []gqlError
}

func (ex *executor) errorf(path []any, code, format string, args ...any) {
	e := gqlError{Message: fmt.Sprintf(format, args...), Path: path}
	if code != "" {
		e.Extensions = map[string]any{"code": code}
	}
	ex.errs = append(ex.errs, e)
}

func alias(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func (ex *executor) args(f *ast.Field) map[string]any {
	out := map[string]any{}
	for _, a := range f.Arguments {
		v, _ := a.Value.Value(ex.vars)
		out[a.Name] = v
	}
	return out
}

// fields flattens a selection set for an object of typename (fragments whose
// type condition does not match are skipped).
func (ex *executor) fields(set ast.SelectionSet, typename string) []*ast.Field {
	var out []*ast.Field
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			if s.TypeCondition == "" || typename == "" || s.TypeCondition == typename {
				out = append(out, ex.fields(s.SelectionSet, typename)...)
			}
		case *ast.FragmentSpread:
			if fd := ex.doc.Fragments.ForName(s.Name); fd != nil && (typename == "" || fd.TypeCondition == typename) {
				out = append(out, ex.fields(fd.SelectionSet, typename)...)
			}
		}
	}
	return out
}

// project shapes v by the selection set.
func (ex *executor) project(v any, set ast.SelectionSet, path []any) any {
	if v == nil {
		return nil
	}
	switch v := v.(type) {
	case []map[string]any:
		out := make([]any, len(v))
		for i, o := range v {
			out[i] = ex.project(o, set, append(path, i))
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, o := range v {
			out[i] = ex.project(o, set, append(path, i))
		}
		return out
	case map[string]any:
		tn, _ := v["__typename"].(string)
		out := map[string]any{}
		for _, f := range ex.fields(set, tn) {
			key := alias(f)
			if f.Name == "__typename" {
				out[key] = tn
				continue
			}
			fv := v[f.Name]
			if lazy, ok := fv.(Field); ok {
				r, err := lazy(ex.c, ex.args(f))
				if err != nil {
					ex.errorf(append(path, key), "", "%v", err)
					out[key] = nil
					continue
				}
				fv = r
			}
			out[key] = ex.project(fv, f.SelectionSet, append(path, key))
		}
		return out
	}
	return v
}
