package router_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNullPropagationErrorsCarryACode: a subgraph's field error that nulls a
// non-null field is reported once (the subgraph's error, not a second
// "Cannot return null" without a code), and a null the subgraph returned
// without any error is reported with a code.
func TestNullPropagationErrorsCarryACode(t *testing.T) {
	t.Parallel()
	e := setup(t)

	r := e.post(`query($id: ID!) { user(id: $id) { id username } }`, map[string]any{"id": "broken-username"})
	require.Len(t, r.Errors, 1, string(r.Raw))
	require.Equal(t, "username unavailable", r.errorMessage())
	require.Equal(t, []any{"user", "username"}, r.Errors[0]["path"])
	require.Equal(t, "accounts", r.Errors[0]["extensions"].(map[string]any)["serviceName"])
	require.Equal(t, map[string]any{"user": nil}, r.Data)

	r = e.post(`query($id: ID!) { user(id: $id) { id username } }`, map[string]any{"id": "null-username"})
	require.Len(t, r.Errors, 1, string(r.Raw))
	require.Equal(t, "SUBGRAPH_INVALID_RESPONSE", r.errorCode(), string(r.Raw))
	require.Equal(t, []any{"user", "username"}, r.Errors[0]["path"])
}
