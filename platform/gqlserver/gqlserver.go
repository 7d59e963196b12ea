// Package gqlserver builds every subgraph's GraphQL HTTP handler the same way:
// gqlgen's handler.New with explicit transports, panic recovery, a complexity
// guard, the federation guard, auth directives and one error presenter.
package gqlserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
)

// Options tune the handler; the zero value is sensible.
type Options struct {
	// ComplexityLimit caps gqlgen's complexity score of one operation.
	ComplexityLimit int
	// MaxBodyBytes caps the request body.
	MaxBodyBytes int64
	// PerOperation prepares the context of each operation, e.g. installs
	// fresh dataloaders (see package dataload).
	PerOperation func(ctx context.Context) context.Context
}

// New returns the HTTP handler serving es. verifier checks the router's
// assertion, both on HTTP requests and in a WebSocket's connection_init.
func New(es graphql.ExecutableSchema, log *slog.Logger, verifier *identity.Verifier, opts Options) http.Handler {
	if opts.ComplexityLimit == 0 {
		opts.ComplexityLimit = 5000
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	srv := handler.New(es)
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		InitTimeout:           10 * time.Second,
		InitFunc:              websocketInit(verifier),
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	srv.AroundRootFields(routerOnly)
	if opts.PerOperation != nil {
		srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
			return next(opts.PerOperation(ctx))
		})
	}
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("internal panic")
	})
	srv.SetErrorPresenter(presenter(log))
	return verifier.Middleware(http.MaxBytesHandler(srv, opts.MaxBodyBytes))
}

// routerOnly refuses the federation entry points to anything but the router:
// _entities would otherwise let anyone fetch any entity by key, bypassing the
// router's limits, and _service reveals the subgraph's full SDL.
func routerOnly(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	fc := graphql.GetRootFieldContext(ctx)
	if fc != nil && (fc.Field.Name == "_entities" || fc.Field.Name == "_service") && !identity.FromRouter(ctx) {
		graphql.AddError(ctx, apperr.Forbidden(fc.Field.Name+" is only served to the router"))
		return graphql.Null
	}
	return next(ctx)
}

// websocketInit accepts the assertion from the upgrade request (already in the
// context) or from the connection_init payload.
func websocketInit(verifier *identity.Verifier) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if token := payload.GetString(identity.Header); token != "" {
			p, err := verifier.Verify(token)
			if err != nil {
				return ctx, nil, apperr.Unauthenticated("invalid internal assertion")
			}
			return identity.WithPrincipal(ctx, p), nil, nil
		}
		return ctx, nil, nil
	}
}

// presenter maps domain errors to extensions.code and hides everything else:
// internal messages, SQL and stack traces go to the log, never to clients.
func presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if appErr, ok := apperr.As(err); ok {
			gqlErr.Message = appErr.Message
			gqlErr.Extensions = map[string]any{"code": appErr.Code}
			if appErr.Field != "" {
				gqlErr.Extensions["field"] = appErr.Field
			}
			if appErr.RetryAfter > 0 {
				gqlErr.Extensions["retryAfter"] = appErr.RetryAfter
			}
			return gqlErr
		}
		var parsed *gqlerror.Error
		if errors.As(err, &parsed) && parsed.Err == nil {
			// gqlgen's own parse, validation and coercion errors: written for clients.
			if gqlErr.Extensions == nil || gqlErr.Extensions["code"] == nil {
				if gqlErr.Extensions == nil {
					gqlErr.Extensions = map[string]any{}
				}
				gqlErr.Extensions["code"] = apperr.CodeBadUserInput
			}
			return gqlErr
		}
		log.ErrorContext(ctx, "internal error", "err", err, "path", gqlErr.Path.String())
		gqlErr.Message = "internal server error"
		gqlErr.Extensions = map[string]any{"code": apperr.CodeInternal}
		return gqlErr
	}
}

// SignedIn implements the @signedIn directive.
func SignedIn(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if identity.FromContext(ctx).Anonymous() {
		return nil, apperr.Unauthenticated("sign in to do this")
	}
	return next(ctx)
}

// HasRole implements the @hasRole(role:) directive for a subgraph's Role enum.
func HasRole[R ~string](ctx context.Context, _ any, next graphql.Resolver, role R) (any, error) {
	p := identity.FromContext(ctx)
	if p.Anonymous() {
		return nil, apperr.Unauthenticated("sign in to do this")
	}
	if !p.HasRole(string(role)) {
		return nil, apperr.Forbidden("requires the " + string(role) + " role")
	}
	return next(ctx)
}
