package engine

import (
	"errors"
	"supergraph/platform/apperr"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDuplicateKey(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":1,"b":2}`:                   "",
		`{"a":1,"a":2}`:                   "a",
		`{"a":{"b":1,"c":{"b":2}},"b":3}`: "",
		`{"a":[{"x":1},{"x":2}]}`:         "",
		`{"a":[{"x":1,"x":2}]}`:           "x",
		`{"a":"a","b":"a"}`:               "", // a value equal to a key is no key
		`[{"k":1},{"k":1,"k":2}]`:         "k",
		`{"v":{"n":1,"n":"x"}}`:           "n",
		`{"a":`:                           "", // malformed: the decoder says so
	} {
		got, ok := duplicateKey([]byte(raw))
		require.Equal(t, want != "", ok, raw)
		require.Equal(t, want, got, raw)
	}
}

// TestIntAndFloatAreInRange: the library accepts any JSON number for Int;
// the router holds Int to whole 32-bit numbers, in variables and literals.
func TestIntAndFloatAreInRange(t *testing.T) {
	g, err := ReadGraph("../../../graph/config.json")
	require.NoError(t, err)
	e, err := New(g, Options{})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	const byVar = `query($n: Int) { gigs(first: $n) { edges { cursor } } }`
	for vars, code := range map[string]string{
		`{"n":5}`: "", `{"n":2147483647}`: "", `{"n":-2147483648}`: "", `{"n":2.0}`: "", `{"n":1e3}`: "",
		`{"n":2147483648}`: apperr.CodeBadUserInput, `{"n":1.5}`: apperr.CodeBadUserInput, `{"n":1e400}`: apperr.CodeBadUserInput,
		`{"n":-99999999999999999999}`: apperr.CodeBadUserInput, `{"n":[1.5]}`: apperr.CodeBadUserInput,
	} {
		for range 2 { // fresh, then remembered
			_, err := e.Prepare(Request{Query: byVar, Variables: []byte(vars)})
			requireCode(t, code, err, vars)
		}
	}
	_, err = e.Prepare(Request{Query: `{ gigs(first: 99999999999) { edges { cursor } } }`})
	requireCode(t, apperr.CodeValidationFailed, err, "literal")
	_, err = e.Prepare(Request{Query: `query($f: GigFilter) { gigs(filter: $f) { edges { cursor } } }`, Variables: []byte(`{"f":{"maxPriceCents":1e12}}`)})
	requireCode(t, apperr.CodeBadUserInput, err, "nested in an input object")
}

func requireCode(t *testing.T, code string, err error, msg string) {
	t.Helper()
	if code == "" {
		require.NoError(t, err, msg)
		return
	}
	var rerr *RequestError
	require.True(t, errors.As(err, &rerr), "%s: %v", msg, err)
	require.Equal(t, code, rerr.Errors[0].Extensions["code"], "%s: %v", msg, err)
}
