package router_test

import (
	"fmt"
	"sync"
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

// TestVariablesInsideLiteralsAreThisRequests: normalization extracts an
// input-object literal into a variable of its own, and when the literal holds
// a client variable the extracted value embeds that variable's value. A
// remembered document must never hand one request's value to the next (the
// fault: the first request's value answered every later one, across users).
func TestVariablesInsideLiteralsAreThisRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ids := e.userIDs()
	docs := []string{
		`mutation($u: String!) { rename(input: {username: $u}) { id username } }`,
		`mutation M($u: String!) { ...F } fragment F on Mutation { rename(input: {username: $u}) { id username } }`,
		// With $u = "same" both literals have one value and normalization
		// merges them into one variable; other values must not stay merged.
		`mutation($u: String!) { a: rename(input: {username: $u}) { id username } b: rename(input: {username: "same"}) { id username } }`,
	}
	for _, doc := range docs {
		for round := range 3 {
			for i, id := range ids {
				name := []string{"same", "ada", "zed"}[(round+i)%3] + "-" + id[:8]
				if round == 0 && i == 0 {
					name = "same"
				}
				r := e.post(doc, map[string]any{"u": name}, bearer(e.issuer.token(id))...)
				require.Empty(t, r.Errors, string(r.Raw))
				for alias, want := range map[string]string{"rename": name, "a": name, "b": "same"} {
					got, ok := r.Data[alias].(map[string]any)
					if !ok {
						continue
					}
					require.Equal(t, want, got["username"], "%s as %s with %q: %s", doc, id, name, r.Raw)
					require.Equal(t, id, got["id"], string(r.Raw))
				}
			}
		}
	}

	// Concurrently, from every user at once.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i, id := range ids {
		for n := range 8 {
			wg.Go(func() {
				name := fmt.Sprintf("u%d-%d", i, n)
				r := e.post(docs[0], map[string]any{"u": name}, bearer(e.issuer.token(id))...)
				got, _ := r.Data["rename"].(map[string]any)
				if got == nil || got["username"] != name || got["id"] != id {
					errs <- fmt.Sprintf("%s asked for %q, got %s", id, name, r.Raw)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
