package engine

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/apperr"
	"supergraph/router/internal/limits"
)

// TestLimitViolationsAreRequestErrors: a document over a limit is refused by
// Prepare with 400, LIMIT_EXCEEDED and extensions.limit naming the limit, the
// setting that raises it and both numbers; disabled introspection is a
// validation failure, as other routers report it.
func TestLimitViolationsAreRequestErrors(t *testing.T) {
	t.Parallel()
	g, err := ReadGraph(testGraph)
	require.NoError(t, err)
	e, err := New(g, Options{Limits: limits.Limits{
		MaxQueryBytes: 200, MaxTokens: 40, MaxDepth: 2, MaxAliases: 1, MaxRootFields: 2,
		MaxFields: 4, MaxDirectives: 1, DisableIntrospection: true,
	}})
	require.NoError(t, err)
	t.Cleanup(e.Close)

	for _, tc := range []struct {
		query string
		limit map[string]any
	}{
		{`{ me { id } }` + strings.Repeat(" ", 200), map[string]any{"name": "query bytes", "setting": "ROUTER_MAX_QUERY_BYTES", "max": 200, "actual": 213}},
		{`{` + strings.Repeat(" me { id }", 11) + ` }`, map[string]any{"name": "tokens", "setting": "ROUTER_MAX_TOKENS", "max": 40, "actual": 41}},
		{`{ users { reviews { id } } }`, map[string]any{"name": "depth", "setting": "ROUTER_MAX_DEPTH", "max": 2, "actual": 3}},
		{`{ a: me { id } b: me { id } }`, map[string]any{"name": "aliases", "setting": "ROUTER_MAX_ALIASES", "max": 1, "actual": 2}},
		{`{ me { id } users { id } latestReview { id } }`, map[string]any{"name": "root fields", "setting": "ROUTER_MAX_ROOT_FIELDS", "max": 2, "actual": 3}},
		{`{ me { id username email } users { id } }`, map[string]any{"name": "fields", "setting": "ROUTER_MAX_FIELDS", "max": 4, "actual": 6}},
		{`{ me @skip(if: false) { id @include(if: true) } }`, map[string]any{"name": "directives", "setting": "ROUTER_MAX_DIRECTIVES", "max": 1, "actual": 2}},
	} {
		_, err := e.Prepare(Request{Query: tc.query})
		var rerr *RequestError
		require.ErrorAs(t, err, &rerr, tc.query)
		require.Equal(t, http.StatusBadRequest, rerr.Status)
		require.Len(t, rerr.Errors, 1)
		require.Equal(t, map[string]any{"code": apperr.CodeLimitExceeded, "limit": tc.limit}, rerr.Errors[0].Extensions, tc.query)
		require.Contains(t, rerr.Errors[0].Message, tc.limit["setting"])
	}

	_, err = e.Prepare(Request{Query: `{ __schema { queryType { name } } }`})
	var rerr *RequestError
	require.ErrorAs(t, err, &rerr)
	require.Equal(t, map[string]any{"code": apperr.CodeValidationFailed}, rerr.Errors[0].Extensions)

	// At every limit, the operation prepares.
	_, err = e.Prepare(Request{Query: `{ a: me { id @skip(if: false) } users { id } }`})
	require.NoError(t, err)
}
