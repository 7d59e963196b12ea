package router

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"supergraph/platform/identity"
	"supergraph/router/internal/engine"
	"supergraph/router/internal/telemetry"
)

// accessInfo is what serveGraphQL learns about a request for the access log.
type accessInfo struct {
	op        *engine.Operation
	principal identity.Principal
	errCode   string
	requestID string
	status    int
	// finish writes the request's metrics, span end and log line; detached
	// means the handler took it over (a WebSocket, finished when it closes).
	finish   func()
	detached bool
}

// detach hands the request's accounting to the caller, who calls the returned
// func when the request is really over.
func (a *accessInfo) detach() func() {
	a.detached = true
	if a.finish == nil {
		return func() {}
	}
	return a.finish
}

// reattach undoes detach: the request ends when its handler returns after all.
func (a *accessInfo) reattach() { a.detached = false }

type accessKey struct{}

func accessFrom(ctx context.Context) *accessInfo {
	a, _ := ctx.Value(accessKey{}).(*accessInfo)
	if a == nil {
		return &accessInfo{} // a sink for callers outside instrumented requests
	}
	return a
}

// instrumented wraps /graphql: a server span, the request's fetch record,
// metrics, and one access-log line when the request ends (for a WebSocket,
// when the connection closes).
func (r *Router) instrumented(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		ctx, span := r.tel.StartRequest(req)
		ctx, rec := telemetry.WithRecord(ctx)
		info := &accessInfo{}
		ctx = context.WithValue(ctx, accessKey{}, info)
		sw := &statusWriter{ResponseWriter: w, info: info}
		// Taken now: a detached request's finish runs after the handler
		// returned, and must not keep the request alive.
		method, clientIP := req.Method, ""
		if r.cfg.AccessLog {
			clientIP = r.clientIP(req)
		}
		info.finish = func() {
			d := time.Since(start)
			// info, not sw: a WebSocket's finish runs long after its handler
			// returned, and the response writer holds net/http's buffers.
			status := info.status
			if status == 0 {
				status = http.StatusOK
			}
			opType, opName, opHash, cost := "", "", "", 0
			if info.op != nil {
				opType, opName, opHash, cost = string(info.op.Type), info.op.Name, info.op.Hash(), info.op.Cost
				span.SetName(opType + " " + opName)
				span.SetAttributes(attribute.String("graphql.operation.type", opType),
					attribute.String("graphql.operation.name", opName), attribute.Int("graphql.operation.cost", cost))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
			r.tel.Request(opType, status, d)

			if !r.cfg.AccessLog {
				return
			}
			principal := "anonymous"
			if !info.principal.Anonymous() {
				principal = info.principal.UserID
			}
			attrs := make([]slog.Attr, 0, 14)
			attrs = append(attrs,
				slog.String("request_id", info.requestID),
				slog.String("method", method),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("operation_type", opType),
				slog.String("operation_name", opName),
				slog.String("operation_hash", opHash),
				slog.String("principal", principal),
				slog.String("client_ip", clientIP),
				slog.Int("cost", cost),
				slog.Any("subgraph_fetches", rec.Fetches()),
			)
			if sc := span.SpanContext(); sc.IsValid() {
				attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
			}
			if info.errCode != "" {
				attrs = append(attrs, slog.String("error_code", info.errCode))
			}
			r.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
		next(sw, req.WithContext(ctx))
		if !info.detached {
			info.finish()
		}
	}
}

// statusWriter remembers the status; it keeps the writer's streaming (SSE) and
// hijacking (WebSocket) abilities.
type statusWriter struct {
	http.ResponseWriter
	info *accessInfo
}

func (s *statusWriter) WriteHeader(code int) {
	if s.info.status == 0 {
		s.info.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.info.status == 0 {
		s.info.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.info.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
