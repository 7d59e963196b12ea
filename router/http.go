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
	"supergraph/router/internal/pipeline"
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
		writeErrors(w, mediaJSON, http.StatusNotAcceptable, engine.NewRequestError(http.StatusNotAcceptable, apperr.CodeBadRequest,
			"cannot answer with any media type the Accept header lists; use %s or %s", mediaGraphQLResponse, mediaJSON))
		return
	}
	errMedia := errorMedia(media)

	reqs, batch, uploads, rerr := r.readRequests(w, req)
	defer uploads.cleanup()
	if rerr == nil && uploads != nil && media == mediaEventStream {
		rerr = engine.NewRequestError(http.StatusNotAcceptable, apperr.CodeBadRequest, "a multipart request is answered as JSON, not as an event stream")
	}
	if rerr != nil {
		r.writeError(w, req, errMedia, rerr)
		return
	}
	// A remembered token's deny-list read is left to admission, which makes it
	// in the rate limit's Redis round trip; a batch admits each operation on
	// its own, so it is made at once.
	caller, err := r.pipe.Identify(req.Context(), req.Header.Get("Authorization"), r.clientIP(req))
	if err == nil && batch {
		err = caller.Settle(req.Context())
	}
	if err != nil {
		r.writeError(w, req, errMedia, err)
		return
	}
	info.principal = caller.Principal
	if batch && uploads != nil {
		// A batch's files are read before its operations run, so a body
		// that fails fails the whole request, not one slot.
		if rerr := uploads.receive(); rerr != nil {
			r.writeError(w, req, errMedia, rerr)
			return
		}
	}
	headers := r.pipe.Headers(caller, requestID, req.Header.Get("Traceparent"), req.Header.Get("Tracestate"))
	switch {
	case !batch:
		r.serveOperation(w, req, media, reqs[0], caller, headers)
	case media == mediaEventStream:
		writeErrors(w, errMedia, http.StatusNotAcceptable, engine.NewRequestError(http.StatusNotAcceptable, apperr.CodeBadRequest,
			"a batch is answered as one JSON array, not as an event stream"))
	default:
		r.serveBatch(w, req, media, reqs, caller, headers)
	}
}

// errorMedia is the media type of errors answered before any result: an
// event stream's are JSON.
func errorMedia(media string) string {
	if media == mediaEventStream {
		return mediaJSON
	}
	return media
}

// readRequests reads a GET request's parameters or a POST request's body:
// one operation, or a batch. A multipart POST also returns its files, still
// unread (see multipartUploads); the caller cleans them up.
func (r *Router) readRequests(w http.ResponseWriter, req *http.Request) (reqs []clientRequest, batch bool, uploads *multipartUploads, rerr *engine.RequestError) {
	switch req.Method {
	case http.MethodGet:
		gr, rerr := r.fromQueryString(req)
		return []clientRequest{gr}, false, nil, rerr
	case http.MethodPost:
		return r.fromBody(w, req)
	}
	w.Header().Set("Allow", "GET, POST")
	return nil, false, nil, engine.NewRequestError(http.StatusMethodNotAllowed, apperr.CodeBadRequest, "method %s is not allowed: use GET or POST", req.Method)
}

// serveOperation answers one operation: prepared, checked against what the
// transport allows, admitted, then executed (or streamed over SSE).
func (r *Router) serveOperation(w http.ResponseWriter, req *http.Request, media string, gr clientRequest, caller *pipeline.Caller, headers *auth.SubgraphHeaders) {
	ctx := req.Context()
	errMedia := errorMedia(media)
	op, err := r.pipe.Prepare(gr.Request)
	if err == nil {
		accessFrom(ctx).op = op
		err = transportRefusal(w.Header(), req.Method, media, op)
	}
	if err == nil && gr.uploads != nil {
		if rerr := gr.uploads.bind(op, gr.item); rerr != nil {
			err = rerr
		}
	}
	if err != nil {
		// A revoked token hears so before anything else.
		if aerr := caller.Settle(ctx); aerr != nil {
			err = aerr
		}
		r.writeError(w, req, errMedia, err)
		return
	}
	decision, err := r.pipe.Admit(ctx, caller, op)
	r.setRateHeaders(w.Header(), decision)
	if err != nil {
		r.writeError(w, req, errMedia, err)
		return
	}
	if gr.uploads != nil {
		if rerr := gr.uploads.attach(op, gr.item); rerr != nil {
			r.writeError(w, req, errMedia, rerr)
			return
		}
	}
	r.persisted.admitted(ctx, gr)

	if media == mediaEventStream {
		r.serveSSE(w, req, op, caller, headers)
		return
	}
	var buf bytes.Buffer
	if err := r.pipe.Execute(ctx, caller, op, headers, &buf); err != nil {
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

// transportRefusal refuses what an operation may not do over this transport:
// a mutation over GET, a subscription without an event stream.
func transportRefusal(h http.Header, method, media string, op *engine.Operation) error {
	switch {
	case method == http.MethodGet && op.Type == engine.Mutation:
		// GET must stay safe: a link or an <img> must never change anything.
		h.Set("Allow", "POST")
		return engine.NewRequestError(http.StatusMethodNotAllowed, apperr.CodeBadRequest, "mutations are not allowed over GET: use POST")
	case op.Type == engine.Subscription && media != mediaEventStream:
		return engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest,
			"subscriptions need a WebSocket (graphql-transport-ws or graphql-ws) or Server-Sent Events (Accept: %s)", mediaEventStream)
	}
	return nil
}

// serveBatch answers a JSON array of operations with an array of results in
// the same order. Each operation stands alone: one that fails to validate
// gets its errors in its slot and the others still run. They run one after the
// other, so a batch costs the subgraphs no more concurrency than its sender
// could get with one connection.
func (r *Router) serveBatch(w http.ResponseWriter, req *http.Request, media string, reqs []clientRequest, caller *pipeline.Caller, headers *auth.SubgraphHeaders) {
	var out bytes.Buffer
	out.WriteByte('[')
	for i, gr := range reqs {
		if i > 0 {
			out.WriteByte(',')
		}
		body, err := r.batchItem(w, req, gr, caller, headers)
		if err != nil {
			if req.Context().Err() != nil {
				return
			}
			var rerr *engine.RequestError
			if !errors.As(err, &rerr) {
				r.log.ErrorContext(req.Context(), "execute batched operation", "err", err, "request_id", w.Header().Get(auth.RequestIDHeader))
			}
			body, _ = json.Marshal(struct {
				Errors []engine.Error `json:"errors"`
			}{pipeline.AsRequestError(err).Errors})
		}
		out.Write(body)
	}
	out.WriteByte(']')
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// batchItem runs one operation of a batch and returns its result.
func (r *Router) batchItem(w http.ResponseWriter, req *http.Request, gr clientRequest, caller *pipeline.Caller, headers *auth.SubgraphHeaders) ([]byte, error) {
	op, err := r.pipe.Prepare(gr.Request)
	if err != nil {
		return nil, err
	}
	if op.Type == engine.Subscription {
		return nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "a batch cannot start subscriptions")
	}
	if gr.uploads != nil {
		if rerr := gr.uploads.bind(op, gr.item); rerr != nil {
			return nil, rerr
		}
	}
	d, err := r.pipe.Admit(req.Context(), caller, op)
	r.setRateHeaders(w.Header(), d)
	if err != nil {
		return nil, err
	}
	if gr.uploads != nil {
		if rerr := gr.uploads.attach(op, gr.item); rerr != nil {
			return nil, rerr
		}
	}
	r.persisted.admitted(req.Context(), gr)
	var buf bytes.Buffer
	if err := r.pipe.Execute(req.Context(), caller, op, headers, &buf); err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(buf.Bytes())
	if r.wantsCost(req) {
		body = r.withCost(body, op.Cost)
	}
	return body, nil
}

// fromQueryString reads a GET request's parameters.
func (r *Router) fromQueryString(req *http.Request) (clientRequest, *engine.RequestError) {
	q := req.URL.Query()
	gr := clientRequest{Request: engine.Request{Query: q.Get("query"), OperationName: q.Get("operationName")}}
	if v := q.Get("variables"); v != "" {
		if !json.Valid([]byte(v)) {
			return gr, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the variables parameter is not valid JSON")
		}
		if rerr := engine.CheckJSON([]byte(v)); rerr != nil {
			return gr, rerr
		}
		gr.Variables = []byte(v)
	}
	if v := q.Get("extensions"); v != "" {
		if !json.Valid([]byte(v)) {
			return gr, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the extensions parameter is not valid JSON")
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
// array) of at most MaxBatchSize. Only application/json is accepted, and
// multipart/form-data for file uploads with a preflight header: every CORS
// "simple" content type (text/plain, form encodings) is refused otherwise, so a
// cross-site page cannot send a GraphQL request without a preflight (CSRF).
func (r *Router) fromBody(w http.ResponseWriter, req *http.Request) ([]clientRequest, bool, *multipartUploads, *engine.RequestError) {
	ct := req.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == mediaMultipart {
		return r.fromMultipart(w, req, params)
	}
	if ct == "" || err != nil || mt != mediaJSON {
		return nil, false, nil, engine.NewRequestError(http.StatusUnsupportedMediaType, apperr.CodeBadRequest,
			"unsupported Content-Type %q: send the request as application/json (or multipart/form-data to upload files)", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, false, nil, engine.NewRequestError(http.StatusUnsupportedMediaType, apperr.CodeBadRequest,
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
			return nil, false, nil, tooLarge("request", "ROUTER_MAX_REQUEST_BYTES", r.cfg.MaxRequestBytes,
				fmt.Sprintf("the request body exceeds %d bytes", r.cfg.MaxRequestBytes))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, false, nil, engine.NewRequestError(http.StatusRequestTimeout, apperr.CodeBadRequest,
				"the request body did not arrive within %v", r.cfg.BodyReadTimeout)
		}
		return nil, false, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "cannot read the request body")
	}
	reqs, batch, rerr := r.parseOperations(req.Context(), body)
	return reqs, batch, nil, rerr
}

// tooLarge refuses a request over one of the router's size limits, named by
// its setting: every 413 the router answers is made here.
func tooLarge(name, setting string, limit int64, msg string) *engine.RequestError {
	rerr := engine.NewRequestError(http.StatusRequestEntityTooLarge, apperr.CodePayloadTooLarge, "%s (%s)", msg, setting)
	rerr.Errors[0].Extensions["limit"] = map[string]any{"name": name, "setting": setting, "max": limit}
	return rerr
}

// parseOperations reads a request body (or a multipart request's operations
// field): one request object, or a batch (a JSON array).
func (r *Router) parseOperations(ctx context.Context, body []byte) ([]clientRequest, bool, *engine.RequestError) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		if r.cfg.MaxBatchSize <= 1 {
			return nil, true, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest,
				"batched requests are not supported (ROUTER_MAX_BATCH_SIZE=1): send one operation per request")
		}
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, true, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "malformed JSON body: %s", jsonProblem(err))
		}
		switch {
		case len(items) == 0:
			return nil, true, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the batch is empty")
		case len(items) > r.cfg.MaxBatchSize:
			rerr := engine.NewRequestError(http.StatusBadRequest, apperr.CodeLimitExceeded,
				"the batch exceeds the batch size limit: %d > %d (ROUTER_MAX_BATCH_SIZE)", len(items), r.cfg.MaxBatchSize)
			rerr.Errors[0].Extensions["limit"] = map[string]any{"name": "batch size", "setting": "ROUTER_MAX_BATCH_SIZE", "max": r.cfg.MaxBatchSize, "actual": len(items)}
			return nil, true, rerr
		}
		reqs := make([]clientRequest, len(items))
		for i, item := range items {
			gr, rerr := r.readWire(ctx, item)
			if rerr != nil {
				rerr.Errors[0].Message = fmt.Sprintf("batch item %d: %s", i, rerr.Errors[0].Message)
				return nil, true, rerr
			}
			reqs[i] = gr
		}
		return reqs, true, nil
	}
	gr, rerr := r.readWire(ctx, body)
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
		return engine.Request{}, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "malformed JSON body: %s", jsonProblem(err))
	}
	var gr engine.Request
	if err := stringParam(wr.Query, &gr.Query); err != nil {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "query must be a string")
	}
	if err := stringParam(wr.OperationName, &gr.OperationName); err != nil {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "operationName must be a string or null")
	}
	if !objectOrNull(wr.Variables) {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "variables must be a JSON object or null")
	}
	if !objectOrNull(wr.Extensions) {
		return gr, nil, engine.NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "extensions must be a JSON object or null")
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

func (r *Router) writeError(w http.ResponseWriter, req *http.Request, media string, err error) {
	var rerr *engine.RequestError
	switch {
	case pipeline.IsAuthError(err):
		accessFrom(req.Context()).errCode = apperr.CodeUnauthenticated
		writeAuthError(w, media, err)
	case errors.As(err, &rerr):
		if code, _ := rerr.Errors[0].Extensions["code"].(string); code != "" {
			accessFrom(req.Context()).errCode = code
			if code == apperr.CodeLimitExceeded {
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
	case apperr.CodeParseFailed, apperr.CodeValidationFailed, apperr.CodeBadUserInput, apperr.CodePersistedQueryNotFound:
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
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeErrors(w, media, http.StatusUnauthorized, engine.NewRequestError(http.StatusUnauthorized, apperr.CodeUnauthenticated, "%s", pipeline.TokenProblem(err)))
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
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
