package router_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPreparedOperationsAreReusedSafely: a document is parsed, normalized and
// validated once per shape of its variables; later requests still get their
// own variables coerced, completed and validated.
func TestPreparedOperationsAreReusedSafely(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	tok := bearer(e.issuer.token(ids[0]))

	// Same document, other values: every answer is its own.
	const byID = `query($id: ID!) { user(id: $id) { id } }`
	for range 2 {
		for _, id := range ids {
			r := e.post(byID, map[string]any{"id": id}, tok...)
			require.Empty(t, r.Errors, string(r.Raw))
			require.Equal(t, id, r.Data["user"].(map[string]any)["id"])
		}
	}

	// @include decided on a variable: each value keeps its own normalization.
	const incl = `query($id: ID!, $name: Boolean!) { user(id: $id) { id username @include(if: $name) } }`
	for range 2 {
		r := e.post(incl, map[string]any{"id": ids[0], "name": true}, tok...)
		require.Empty(t, r.Errors, string(r.Raw))
		require.Contains(t, r.Data["user"], "username")
		r = e.post(incl, map[string]any{"id": ids[0], "name": false}, tok...)
		require.Empty(t, r.Errors, string(r.Raw))
		require.NotContains(t, r.Data["user"], "username")
	}

	// A value of the remembered shape is still validated.
	const page = `query($n: Int) { users(first: $n) { id } }`
	for range 2 {
		r := e.post(page, map[string]any{"n": 1}, tok...)
		require.Empty(t, r.Errors, string(r.Raw))
	}
	// A remembered document answers as a fresh one would (page+" " is a
	// different text, prepared in full).
	for _, n := range []any{3000000000, 1.5, "x", []any{1}, map[string]any{}} {
		fresh := e.post(page+" ", map[string]any{"n": n}, tok...)
		again := e.post(page, map[string]any{"n": n}, tok...)
		require.Equal(t, fresh.Status, again.Status, "%v: %s", n, again.Raw)
		require.Equal(t, fresh.errorCode(), again.errorCode(), "%v: %s", n, again.Raw)
	}
	r := e.post(page, map[string]any{"n": "x"}, tok...)
	require.Equal(t, "BAD_USER_INPUT", r.errorCode(), string(r.Raw))
	e.post(`query($id: ID!) { user(id: $id) { id } }`, map[string]any{"id": nil}, tok...)
	require.Equal(t, "BAD_USER_INPUT", r.errorCode(), string(r.Raw))

	// Defaults and extracted literals are added, unused variables dropped,
	// every time.
	for range 2 {
		r := e.post(`query($id: ID! = "`+ids[1]+`") { user(id: $id) { id } a: user(id: "`+ids[2]+`") { id } }`, map[string]any{"unused": 3}, tok...)
		require.Empty(t, r.Errors, string(r.Raw))
		require.Equal(t, ids[1], r.Data["user"].(map[string]any)["id"])
		require.Equal(t, ids[2], r.Data["a"].(map[string]any)["id"])
	}
}
