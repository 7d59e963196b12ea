package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/router/internal/auth"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/ratelimit"
	"supergraph/router/internal/ws"
)

// Media types of GraphQL over HTTP.
const (
	mediaGraphQLResponse = "application/graphql-response+json"
	mediaJSON            = "application/json"
	mediaEventStream     = "text/event-stream"
)

// identityHeaders are request headers that could claim an identity. The router
// never forwards client headers to subgraphs, and drops these on entry as well so
// no later change can pass them on by accident.
var identityHeaders = []string{identity.Header, "X-User-Id", "X-User-Roles", "X-Forwarded-User", "X-Auth-Request-User", "X-Remote-User"}

// wireRequest is the JSON body of a POST (and the parameters of a GET).
type wireRequest struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

func (r *Router) serveGraphQL(w http.ResponseWriter, req *http.Request) {
	for _, h := range identityHeaders {
		req.Header.Del(h)
	}
	requestID := requestIDFrom(req)
	w.Header().Set(auth.RequestIDHeader, requestID)
	info := accessFrom(req.Context())
	info.requestID = requestID

	if ws.IsUpgrade(req) {
		// The access log line is written when the connection closes.
		finish := info.detach()
		if !r.ws.ServeHTTP(w, req, requestID, finish) {
			info.reattach()
		}
		return
	}

	media, ok := negotiate(req.Header.Get("Accept"))
	if !ok {
		writeErrors(w, mediaJSON, http.StatusNotAcceptable, engine.NewRequestError(http.StatusNotAcceptable, engine.CodeBadRequest,
			"cannot answer with any media type the Accept header lists; use %s or %s", mediaGraphQLResponse, mediaJSON))
		return
	}
	// Errors before streaming starts are answered as JSON.
	errMedia := media
	if errMedia == mediaEventStream {
		errMedia = mediaJSON
	}

	var reqs []clientRequest
	var rerr *engine.RequestError
	batch := false
	switch req.Method {
	case http.MethodGet:
		var gr clientRequest
		gr, rerr = r.fromQueryString(req)
		reqs = []clientRequest{gr}
	case http.MethodPost:
		reqs, batch, rerr = r.fromBody(w, req)
	default:
		w.Header().Set("Allow", "GET, POST")
		rerr = engine.NewRequestError(http.StatusMethodNotAllowed, engine.CodeBadRequest, "method %s is not allowed: use GET or POST", req.Method)
	}
	if rerr != nil {
		r.writeError(w, req, errMedia, rerr)
		return
	}

	// A remembered token's deny-list read is made with the rate limit's
	// (admit), before anything executes.
	principal, deny, err := r.authenticateDeferred(req.Context(), req.Header.Get("Authorization"))
	if err == nil && deny != nil && batch {
		err, deny = deny.Run(req.Context()), nil
	}
	if err != nil {
		info.errCode = apperr.CodeUnauthenticated
		writeAuthError(w, errMedia, err)
		return
	}
	// denied answers a request whose deny-list read is still due and fails.
	denied := func() bool {
		if deny == nil {
			return false
		}
		if err := deny.Run(req.Context()); err != nil {
			info.errCode = apperr.CodeUnauthenticated
			writeAuthError(w, errMedia, err)
			return true
		}
		return false
	}
	info.principal = principal
	headers := r.subgraphHeaders(principal, requestID, req.Header.Get("Traceparent"), req.Header.Get("Tracestate"))
	if batch {
		if media == mediaEventStream {
			writeErrors(w, errMedia, http.StatusNotAcceptable, engine.NewRequestError(http.StatusNotAcceptable, engine.CodeBadRequest,
				"a batch is answered as one JSON array, not as an event stream"))
			return
		}
		r.serveBatch(w, req, media, reqs, principal, headers)
		return
	}
	gr := reqs[0]

	op, err := r.engine.Prepare(gr.Request)
	if err != nil {
		if !denied() {
			r.writeError(w, req, errMedia, err)
		}
		return
	}
	info.op = op
	switch {
	case (req.Method == http.MethodGet && op.Type == engine.Mutation || op.Type == engine.Subscription && media != mediaEventStream) && denied():
		return
	case req.Method == http.MethodGet && op.Type == engine.Mutation:
		// GET must stay safe: a link or an <img> must never change anything.
		w.Header().Set("Allow", "POST")
		writeErrors(w, errMedia, http.StatusMethodNotAllowed, engine.NewRequestError(http.StatusMethodNotAllowed, engine.CodeBadRequest,
			"mutations are not allowed over GET: use POST"))
		return
	case op.Type == engine.Subscription && media != mediaEventStream:
		writeErrors(w, errMedia, http.StatusBadRequest, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest,
			"subscriptions need a WebSocket (graphql-transport-ws or graphql-ws) or Server-Sent Events (Accept: %s)", mediaEventStream))
		return
	}

	decision, err := r.admit(req.Context(), op, principal, r.clientIP(req), deny)
	r.setRateHeaders(w.Header(), decision)
	if isAuthError(err) {
		info.errCode = apperr.CodeUnauthenticated
		writeAuthError(w, errMedia, err)
		return
	}
	if err != nil {
		r.writeError(w, req, errMedia, err)
		return
	}
	r.persisted.admitted(req.Context(), gr)

	if media == mediaEventStream {
		r.serveSSE(w, req, op, principal, headers)
		return
	}

	var buf bytes.Buffer
	err = r.engine.Execute(req.Context(), op, engine.ExecOptions{Headers: headers}, &buf)
	if op.Type == engine.Mutation {
		r.afterMutation(req)
	}
	if err != nil {
		r.writeError(w, req, media, err)
		return
	}
	body := buf.Bytes()
	if r.wantsCost(req) {
		body = r.withCost(body, op.Cost)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// serveBatch answers a JSON array of operations with an array of results in
// the same order. Each operation stands alone: one that fails to validate
// gets its errors in its slot and the others still run. They run one after the
// other, so a batch costs the subgraphs no more concurrency than its sender
// could get with one connection.
func (r *Router) serveBatch(w http.ResponseWriter, req *http.Request, media string, reqs []clientRequest, principal identity.Principal, headers *auth.SubgraphHeaders) {
	clientIP := r.clientIP(req)
	var out bytes.Buffer
	out.WriteByte('[')
	for i, gr := range reqs {
		if i > 0 {
			out.WriteByte(',')
		}
		op, err := r.engine.Prepare(gr.Request)
		if err == nil && op.Type == engine.Subscription {
			err = engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "a batch cannot start subscriptions")
		}
		if err == nil {
			var d *ratelimit.Decision
			d, err = r.admit(req.Context(), op, principal, clientIP, nil)
			r.setRateHeaders(w.Header(), d)
		}
		if err == nil {
			r.persisted.admitted(req.Context(), gr)
		}
		if err == nil {
			var buf bytes.Buffer
			err = r.engine.Execute(req.Context(), op, engine.ExecOptions{Headers: headers}, &buf)
			if op.Type == engine.Mutation {
				r.afterMutation(req)
			}
			if err == nil {
				body := bytes.TrimSpace(buf.Bytes())
				if r.wantsCost(req) {
					body = r.withCost(body, op.Cost)
				}
				out.Write(body)
				continue
			}
		}
		var rerr *engine.RequestError
		if !errors.As(err, &rerr) {
			if req.Context().Err() != nil {
				return
			}
			r.log.ErrorContext(req.Context(), "execute batched operation", "err", err, "request_id", w.Header().Get(auth.RequestIDHeader))
			rerr = engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error")
		}
		body, _ := json.Marshal(struct {
			Errors []engine.Error `json:"errors"`
		}{rerr.Errors})
		out.Write(body)
	}
	out.WriteByte(']')
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// fromQueryString reads a GET request's parameters.
func (r *Router) fromQueryString(req *http.Request) (clientRequest, *engine.RequestError) {
	q := req.URL.Query()
	gr := clientRequest{Request: engine.Request{Query: q.Get("query"), OperationName: q.Get("operationName")}}
	if v := q.Get("variables"); v != "" {
		if !json.Valid([]byte(v)) {
			return gr, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "the variables parameter is not valid JSON")
		}
		if rerr := engine.CheckJSON([]byte(v)); rerr != nil {
			return gr, rerr
		}
		gr.Variables = []byte(v)
	}
	if v := q.Get("extensions"); v != "" {
		if !json.Valid([]byte(v)) {
			return gr, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "the extensions parameter is not valid JSON")
		}
		if rerr := engine.CheckJSON([]byte(v)); rerr != nil {
			return gr, rerr
		}
		if rerr := r.persisted.resolve(req.Context(), &gr, json.RawMessage(v)); rerr != nil {
			return gr, rerr
		}
	}
	return gr, nil
}

// fromBody reads a POST request's JSON body: one request, or a batch (a JSON
// array) of at most MaxBatchSize. Only application/json is accepted: every CORS
// "simple" content type (text/plain, form encodings) is refused, so a cross-site
// page cannot send a GraphQL request without a preflight (CSRF).
func (r *Router) fromBody(w http.ResponseWriter, req *http.Request) ([]clientRequest, bool, *engine.RequestError) {
	ct := req.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != mediaJSON {
		return nil, false, engine.NewRequestError(http.StatusUnsupportedMediaType, engine.CodeBadRequest,
			"unsupported Content-Type %q: send the request as application/json", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, false, engine.NewRequestError(http.StatusUnsupportedMediaType, engine.CodeBadRequest,
			"unsupported charset %q: send UTF-8", cs)
	}
	if r.cfg.BodyReadTimeout > 0 {
		// The header timeout is behind us; a body trickled a byte at a time
		// would otherwise hold this goroutine and its socket for good.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(r.cfg.BodyReadTimeout))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, false, engine.NewRequestError(http.StatusRequestEntityTooLarge, engine.CodeBadRequest,
				"the request body exceeds %d bytes", r.cfg.MaxRequestBytes)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, false, engine.NewRequestError(http.StatusRequestTimeout, engine.CodeBadRequest,
				"the request body did not arrive within %v", r.cfg.BodyReadTimeout)
		}
		return nil, false, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "cannot read the request body")
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		if r.cfg.MaxBatchSize <= 1 {
			return nil, true, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest,
				"batched requests are not supported (ROUTER_MAX_BATCH_SIZE=1): send one operation per request")
		}
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, true, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "malformed JSON body: %s", jsonProblem(err))
		}
		switch {
		case len(items) == 0:
			return nil, true, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "the batch is empty")
		case len(items) > r.cfg.MaxBatchSize:
			rerr := engine.NewRequestError(http.StatusBadRequest, engine.CodeLimitExceeded,
				"the batch exceeds the batch size limit: %d > %d (ROUTER_MAX_BATCH_SIZE)", len(items), r.cfg.MaxBatchSize)
			rerr.Errors[0].Extensions["limit"] = map[string]any{"name": "batch size", "setting": "ROUTER_MAX_BATCH_SIZE", "max": r.cfg.MaxBatchSize, "actual": len(items)}
			return nil, true, rerr
		}
		reqs := make([]clientRequest, len(items))
		for i, item := range items {
			gr, rerr := r.readWire(req.Context(), item)
			if rerr != nil {
				rerr.Errors[0].Message = fmt.Sprintf("batch item %d: %s", i, rerr.Errors[0].Message)
				return nil, true, rerr
			}
			reqs[i] = gr
		}
		return reqs, true, nil
	}
	gr, rerr := r.readWire(req.Context(), body)
	return []clientRequest{gr}, false, rerr
}

// readWire reads one request object and resolves its persisted query.
func (r *Router) readWire(ctx context.Context, body []byte) (clientRequest, *engine.RequestError) {
	var gr clientRequest
	var ext json.RawMessage
	var rerr *engine.RequestError
	gr.Request, ext, rerr = parseWire(body)
	if rerr == nil {
		rerr = r.persisted.resolve(ctx, &gr, ext)
	}
	return gr, rerr
}

// parseWire reads one request object and its extensions.
func parseWire(body []byte) (engine.Request, json.RawMessage, *engine.RequestError) {
	if rerr := engine.CheckJSON(body); rerr != nil {
		return engine.Request{}, nil, rerr
	}
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		return engine.Request{}, nil, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "malformed JSON body: %s", jsonProblem(err))
	}
	var gr engine.Request
	if err := stringParam(wr.Query, &gr.Query); err != nil {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "query must be a string")
	}
	if err := stringParam(wr.OperationName, &gr.OperationName); err != nil {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "operationName must be a string or null")
	}
	if !objectOrNull(wr.Variables) {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "variables must be a JSON object or null")
	}
	if !objectOrNull(wr.Extensions) {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, engine.CodeBadRequest, "extensions must be a JSON object or null")
	}
	gr.Variables = wr.Variables
	return gr, wr.Extensions, nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return "the body must be a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return err.Error()
}

func stringParam(raw json.RawMessage, out *string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func objectOrNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null" || raw[0] == '{'
}

// authenticate returns the principal of an Authorization header value: anonymous
// when there is none, an error for anything that is not a valid, live token.
func (r *Router) authenticate(ctx context.Context, authorization string) (identity.Principal, error) {
	token, present := auth.BearerToken(authorization)
	if !present {
		return identity.Principal{}, nil
	}
	return r.verifier.Verify(ctx, token)
}

// authenticateDeferred is authenticate that may leave a remembered token's
// deny-list read to the caller (see auth.Verifier.VerifyDeferred).
func (r *Router) authenticateDeferred(ctx context.Context, authorization string) (identity.Principal, *auth.DenyCheck, error) {
	token, present := auth.BearerToken(authorization)
	if !present {
		return identity.Principal{}, nil, nil
	}
	return r.verifier.VerifyDeferred(ctx, token)
}

func isAuthError(err error) bool {
	return err != nil && (errors.Is(err, auth.ErrRevokedToken) || errors.Is(err, auth.ErrUnavailable) ||
		errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrExpiredToken))
}

// afterMutation makes the request's token read the deny-list on its next use:
// the mutation may have revoked it (a logout), and that must apply at once
// even with a deny-list check interval.
func (r *Router) afterMutation(req *http.Request) { r.recheck(req.Header.Get("Authorization")) }

// recheck makes the token in an Authorization value read the deny-list on
// its next use (HTTP, SSE and WebSocket mutations alike).
func (r *Router) recheck(authorization string) {
	if token, present := auth.BearerToken(authorization); present && token != "" {
		r.verifier.Recheck(token)
	}
}

func (r *Router) subgraphHeaders(p identity.Principal, requestID, traceparent, tracestate string) *auth.SubgraphHeaders {
	return auth.NewSubgraphHeaders(r.assertions, p, requestID, traceparent, tracestate, r.log)
}

func (r *Router) writeError(w http.ResponseWriter, req *http.Request, media string, err error) {
	var rerr *engine.RequestError
	switch {
	case errors.As(err, &rerr):
		if code, _ := rerr.Errors[0].Extensions["code"].(string); code != "" {
			accessFrom(req.Context()).errCode = code
			if code == engine.CodeLimitExceeded {
				r.tel.Rejected("document_limit")
			}
		}
		status := rerr.Status
		// (media is application/json for an event-stream request's errors too;
		// event-stream clients keep the 4xx.)
		if negotiated, _ := negotiate(req.Header.Get("Accept")); negotiated == mediaJSON {
			status = legacyStatus(rerr)
		}
		writeErrors(w, media, status, rerr)
	case req.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		r.log.ErrorContext(req.Context(), "execute operation", "err", err, "request_id", w.Header().Get(auth.RequestIDHeader))
		writeErrors(w, media, http.StatusInternalServerError, engine.NewRequestError(http.StatusInternalServerError, apperr.CodeInternal, "internal server error"))
	}
}

// legacyStatus is the HTTP status of a request error. GraphQL over HTTP asks
// servers answering as application/json to use 200 when a well-formed request
// fails to parse, validate or coerce its variables: clients of that media type
// treat other statuses as transport failures and never show the errors.
// application/graphql-response+json keeps the 4xx statuses.
func legacyStatus(rerr *engine.RequestError) int {
	switch code, _ := rerr.Errors[0].Extensions["code"].(string); code {
	case engine.CodeParseFailed, engine.CodeValidationFailed, engine.CodeBadUserInput, apperr.CodePersistedQueryNotFound:
		return http.StatusOK
	}
	return rerr.Status
}

func writeAuthError(w http.ResponseWriter, media string, err error) {
	if errors.Is(err, auth.ErrUnavailable) {
		w.Header().Set("Retry-After", "1")
		writeErrors(w, media, http.StatusServiceUnavailable, engine.NewRequestError(http.StatusServiceUnavailable, apperr.CodeInternal,
			"cannot verify the access token right now; retry shortly"))
		return
	}
	msg := "invalid access token"
	switch {
	case errors.Is(err, auth.ErrExpiredToken):
		msg = "access token expired"
	case errors.Is(err, auth.ErrRevokedToken):
		msg = "access token revoked"
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeErrors(w, media, http.StatusUnauthorized, engine.NewRequestError(http.StatusUnauthorized, apperr.CodeUnauthenticated, "%s", msg))
}

func writeErrors(w http.ResponseWriter, media string, status int, rerr *engine.RequestError) {
	body, _ := json.Marshal(struct {
		Errors []engine.Error `json:"errors"`
	}{rerr.Errors})
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// negotiate picks the response media type from an Accept header: the supported
// type with the highest quality, earlier listed on ties; wildcards mean
// application/json (what legacy clients expect). No header means application/json.
func negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case mediaGraphQLResponse, mediaJSON, mediaEventStream:
		case "*/*", "application/*":
			mt = mediaJSON
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best, best != ""
}

// requestIDFrom keeps a well-formed client request id (so a caller can correlate
// logs) and otherwise makes one.
func requestIDFrom(req *http.Request) string {
	if id := req.Header.Get(auth.RequestIDHeader); id != "" && len(id) <= 64 && isToken(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
