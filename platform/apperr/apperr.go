// Package apperr holds the domain errors every service returns. One place
// (gqlserver's error presenter) maps them to GraphQL extensions.code; anything
// else becomes an opaque INTERNAL_SERVER_ERROR.
package apperr

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Codes shared by every subgraph and the router (DESIGN §3).
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeConflict        = "CONFLICT"
	CodeRateLimited     = "RATE_LIMITED"
	CodeInternal        = "INTERNAL_SERVER_ERROR"
)

// Codes only the router answers with: its protections, its view of the
// subgraphs, and requests refused before execution (the GraphQL-over-HTTP
// and Apollo spellings clients know).
const (
	CodeCostLimitExceeded   = "COST_LIMIT_EXCEEDED"
	CodeLimitExceeded       = "OPERATION_LIMIT_EXCEEDED"
	CodeSubgraphUnavailable = "SUBGRAPH_UNAVAILABLE"
	// CodeSubgraphInvalidResponse marks a null a subgraph returned for a
	// non-null field without any error explaining it.
	CodeSubgraphInvalidResponse = "SUBGRAPH_INVALID_RESPONSE"
	CodeBadRequest              = "BAD_REQUEST"
	CodeParseFailed             = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed        = "GRAPHQL_VALIDATION_FAILED"
	CodePersistedQueryNotFound  = "PERSISTED_QUERY_NOT_FOUND"
	// CodePayloadTooLarge refuses a request (HTTP 413) over one of the
	// router's size limits: its body, an uploaded file, the number of files.
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
)

// Error is an error safe to show to the client.
type Error struct {
	Code    string
	Message string
	// Field names the offending input field, when there is one.
	Field string
	// RetryAfter, when set, says when trying again can succeed (seconds,
	// extensions.retryAfter).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Is makes errors.Is(err, apperr.ErrNotFound) match any error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is comparisons on the code alone.
var (
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated}
	ErrForbidden       = &Error{Code: CodeForbidden}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrBadUserInput    = &Error{Code: CodeBadUserInput}
	ErrConflict        = &Error{Code: CodeConflict}
)

// RateLimited: too many attempts, or too busy; retry after the given time.
func RateLimited(msg string, retryAfter time.Duration) error {
	return &Error{Code: CodeRateLimited, Message: msg, RetryAfter: max(1, int(math.Ceil(retryAfter.Seconds())))}
}

// Unauthenticated: no or an invalid identity.
func Unauthenticated(msg string) error { return &Error{Code: CodeUnauthenticated, Message: msg} }

// Forbidden: signed in, but not allowed.
func Forbidden(msg string) error { return &Error{Code: CodeForbidden, Message: msg} }

// NotFound: what names the missing thing ("user").
func NotFound(what string) error { return &Error{Code: CodeNotFound, Message: what + " not found"} }

// BadInput: field is the input field at fault, in the schema's spelling.
func BadInput(field, msg string) error {
	return &Error{Code: CodeBadUserInput, Message: msg, Field: field}
}

// Conflict: the change collides with existing state (a taken username).
func Conflict(field, msg string) error { return &Error{Code: CodeConflict, Message: msg, Field: field} }

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Wrap adds op to an internal error as context and passes errors a client
// may see (this package's) through unchanged, so their code and message
// reach the client.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
