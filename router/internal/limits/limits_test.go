package limits

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astparser"
)

// check parses query and checks its first operation against l.
func check(t *testing.T, l Limits, query string) error {
	t.Helper()
	doc := parse(t, query)
	for _, n := range doc.RootNodes {
		if n.Kind == ast.NodeKindOperationDefinition {
			return l.Check(doc, n.Ref)
		}
	}
	t.Fatalf("no operation in %q", query)
	return nil
}

func parse(t testing.TB, query string) *ast.Document {
	t.Helper()
	doc, report := astparser.ParseGraphqlDocumentString(query)
	require.False(t, report.HasErrors(), "parse %q: %s", query, report.Error())
	return &doc
}

// TestCheckAtAndOverEachLimit: for every limit on the parsed document, a
// document exactly at the maximum passes and one over it is refused with the
// limit's name, the setting that raises it and both numbers. Counts are taken
// as if fragments were inlined.
func TestCheckAtAndOverEachLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		limits Limits
		at     string // passes
		over   string // refused with want
		want   Violation
	}{
		{
			name: "depth", limits: Limits{MaxDepth: 3},
			at:   `{ a { b { c } } }`,
			over: `{ a { b { c { d } } } }`,
			want: Violation{Limit: "depth", Setting: "ROUTER_MAX_DEPTH", Max: 3, Actual: 4},
		},
		{
			name: "depth through a fragment", limits: Limits{MaxDepth: 3},
			at:   `{ a { ...F } } fragment F on T { b { c } }`,
			over: `{ a { ...F } } fragment F on T { b { c { d } } }`,
			want: Violation{Limit: "depth", Setting: "ROUTER_MAX_DEPTH", Max: 3, Actual: 4},
		},
		{
			name: "depth through an inline fragment", limits: Limits{MaxDepth: 2},
			at:   `{ a { ... on T { b } } }`,
			over: `{ a { ... on T { b { c } } } }`,
			want: Violation{Limit: "depth", Setting: "ROUTER_MAX_DEPTH", Max: 2, Actual: 3},
		},
		{
			name: "aliases", limits: Limits{MaxAliases: 2},
			at:   `{ x: a y: b c }`,
			over: `{ x: a y: b z: c }`,
			want: Violation{Limit: "aliases", Setting: "ROUTER_MAX_ALIASES", Max: 2, Actual: 3},
		},
		{
			name: "aliases count once per spread", limits: Limits{MaxAliases: 4},
			at:   `{ p { ...F } q { ...F } } fragment F on T { x: a y: b }`,
			over: `{ p { ...F } q { ...F } r { ...F } } fragment F on T { x: a y: b }`,
			want: Violation{Limit: "aliases", Setting: "ROUTER_MAX_ALIASES", Max: 4, Actual: 6},
		},
		{
			name: "root fields", limits: Limits{MaxRootFields: 2},
			at:   `{ a { x y z } b }`, // nested fields are not root fields
			over: `{ a b c }`,
			want: Violation{Limit: "root fields", Setting: "ROUTER_MAX_ROOT_FIELDS", Max: 2, Actual: 3},
		},
		{
			name: "root fields through fragments", limits: Limits{MaxRootFields: 2},
			at:   `{ a ...F } fragment F on Query { b { c d } }`,
			over: `{ a ...F ... on Query { c } } fragment F on Query { b }`,
			want: Violation{Limit: "root fields", Setting: "ROUTER_MAX_ROOT_FIELDS", Max: 2, Actual: 3},
		},
		{
			name: "fields", limits: Limits{MaxFields: 4},
			at:   `{ a { b c d } }`,
			over: `{ a { b c d e } }`,
			want: Violation{Limit: "fields", Setting: "ROUTER_MAX_FIELDS", Max: 4, Actual: 5},
		},
		{
			name: "fields with fragments inlined", limits: Limits{MaxFields: 6},
			at:   `{ a { ...F } b { ...F } } fragment F on T { x y }`,
			over: `{ a { ...F } b { ...F } c { ...F } } fragment F on T { x y }`,
			want: Violation{Limit: "fields", Setting: "ROUTER_MAX_FIELDS", Max: 6, Actual: 9},
		},
		{
			name: "directives", limits: Limits{MaxDirectives: 2},
			at:   `query Q @d { a @d }`,
			over: `query Q($v: Int @d) @d { a @d }`,
			want: Violation{Limit: "directives", Setting: "ROUTER_MAX_DIRECTIVES", Max: 2, Actual: 3},
		},
		{
			// On spreads, inline fragments, fragment definitions (once per
			// spread) and the fields inside them.
			name: "directives everywhere", limits: Limits{MaxDirectives: 5},
			at:   `{ ...F @d ... @d { a } } fragment F on Query @d { b @d c @d }`,
			over: `{ ...F @d ... @d { a @d } } fragment F on Query @d { b @d c @d }`,
			want: Violation{Limit: "directives", Setting: "ROUTER_MAX_DIRECTIVES", Max: 5, Actual: 6},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, check(t, tc.limits, tc.at))
			err := check(t, tc.limits, tc.over)
			var v *Violation
			require.ErrorAs(t, err, &v)
			require.Equal(t, tc.want, *v)
			require.Equal(t, fmt.Sprintf("the operation exceeds the %s limit: %d > %d (%s)", tc.want.Limit, tc.want.Actual, tc.want.Max, tc.want.Setting), v.Error())
		})
	}
}

// TestZeroMeansUnlimited: the zero Limits refuse nothing.
func TestZeroMeansUnlimited(t *testing.T) {
	t.Parallel()
	q := `query Q($v: Int @d) @d { x: a { y: b { c { d { e { __schema { f } } } } } } g h i j k } ` + strings.Repeat("# "+strings.Repeat("x", 100)+"\n", 10)
	require.NoError(t, check(t, Limits{}, q))
	require.Nil(t, Limits{}.CheckTokens(q))
	require.Nil(t, Limits{}.CheckQueryBytes(q))
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	off := Limits{DisableIntrospection: true}
	for _, q := range []string{
		`{ __schema { queryType { name } } }`,
		`{ __type(name: "User") { name } }`,
		`{ a ...F } fragment F on Query { __schema { types { name } } }`,
		`{ ... on Query { __type(name: "X") { name } } }`,
	} {
		err := check(t, off, q)
		var v *Violation
		require.ErrorAs(t, err, &v, q)
		require.Equal(t, Violation{Limit: "introspection", Setting: "ROUTER_INTROSPECTION"}, *v, q)
		require.Equal(t, "introspection is disabled on this router", v.Error())
		require.NoError(t, check(t, Limits{}, q), "allowed unless disabled")
	}
	for _, q := range []string{
		`{ __typename a { __typename } }`,
		// Only the root type's fields are introspection: deeper, these are
		// ordinary (if unknown) fields for validation to judge.
		`{ a { __schema { x } __type { y } } }`,
	} {
		require.NoError(t, check(t, off, q), q)
	}
}

func TestCheckQueryBytes(t *testing.T) {
	t.Parallel()
	l := Limits{MaxQueryBytes: 10}
	require.Nil(t, l.CheckQueryBytes(strings.Repeat("x", 10)))
	require.Equal(t, &Violation{Limit: "query bytes", Setting: "ROUTER_MAX_QUERY_BYTES", Max: 10, Actual: 11}, l.CheckQueryBytes(strings.Repeat("x", 11)))
}

func TestCheckTokens(t *testing.T) {
	t.Parallel()
	l := Limits{MaxTokens: 4}
	require.Nil(t, l.CheckTokens(`{ a b }`), "4 tokens")
	require.Nil(t, l.CheckTokens("{ a # a comment is no token\n b }"))
	require.Equal(t, &Violation{Limit: "tokens", Setting: "ROUTER_MAX_TOKENS", Max: 4, Actual: 5}, l.CheckTokens(`{ a b c }`))
	require.Equal(t, &Violation{Limit: "tokens", Setting: "ROUTER_MAX_TOKENS", Max: 4, Actual: 5}, l.CheckTokens(`{a(x:1)}`),
		"punctuation counts")

	// A huge document is read only up to the limit.
	huge := "{" + strings.Repeat(" a", 1_000_000) + " }"
	v := Limits{MaxTokens: 1000}.CheckTokens(huge)
	require.NotNil(t, v)
	require.Equal(t, 1001, v.Actual)
}

func TestFragmentCycles(t *testing.T) {
	t.Parallel()
	for _, q := range []string{
		`{ ...A } fragment A on Query { a ...A }`,
		`{ ...A } fragment A on Query { ...B } fragment B on Query { x { ...C } } fragment C on T { ...A }`,
		`{ x { ... on T { ...A } } } fragment A on T { y { ...A } }`,
	} {
		require.ErrorIs(t, check(t, Limits{}, q), ErrFragmentCycle, q)
	}
	// Cycles the operation never reaches and unknown fragments are left to
	// validation, which reports them with a better message.
	require.NoError(t, check(t, Limits{}, `{ a } fragment A on Query { ...B } fragment B on Query { ...A }`))
	require.NoError(t, check(t, Limits{}, `{ ...Missing }`))
	// A fragment spread twice is no cycle.
	require.NoError(t, check(t, Limits{}, `{ ...A ...A x { ...B } } fragment A on Query { a } fragment B on T { b }`))
}

// bomb returns a fragment bomb of n levels: each fragment spreads the next
// twice, so the operation has 2^n fields inlined from a document of n lines.
func bomb(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { x: a @d }\n", n)
	return b.String()
}

// checkWithin checks the document's first operation, failing the test
// rather than hanging when that takes longer than limit (an expanding check
// of a bomb would never end).
func checkWithin(t *testing.T, l Limits, doc *ast.Document, limit time.Duration) (time.Duration, error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- l.Check(doc, 0) }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("the check is still running after %v", limit)
		return 0, nil
	}
}

// TestFragmentBombIsCountedNotExpanded: a bomb's counts are those of the
// inlined operation (capped, never overflowing), and the check takes time
// linear in the document: thousands of levels, which no expansion would ever
// finish, are checked in well under a second.
func TestFragmentBombIsCountedNotExpanded(t *testing.T) {
	t.Parallel()
	l := Limits{MaxFields: 1000, MaxAliases: 1 << 50, MaxDirectives: 1 << 50, MaxRootFields: 1 << 50}

	err := check(t, l, bomb(10))
	var v *Violation
	require.ErrorAs(t, err, &v)
	require.Equal(t, Violation{Limit: "fields", Setting: "ROUTER_MAX_FIELDS", Max: 1000, Actual: 1 << 10}, *v)

	// Far past 2^63: the counts stop at the ceiling.
	for _, n := range []int{100, 20_000} {
		doc := parse(t, bomb(n))
		elapsed, err := checkWithin(t, l, doc, 5*time.Second)
		require.ErrorAs(t, err, &v)
		require.Equal(t, Violation{Limit: "fields", Setting: "ROUTER_MAX_FIELDS", Max: 1000, Actual: ceiling}, *v, "n=%d", n)
		require.Less(t, elapsed, 2*time.Second, "n=%d", n)
		t.Logf("%d levels checked in %v", n, elapsed)
	}

	// The other counts saturate too rather than wrap negative and pass.
	err = check(t, Limits{MaxAliases: 5}, bomb(200))
	require.ErrorAs(t, err, &v)
	require.Equal(t, "aliases", v.Limit)
	require.Equal(t, ceiling, v.Actual)
}

// chain returns a document of n fragments, each spreading the next once.
func chain(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { a%d ...F%d }\n", i, i, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { end }\n", n)
	return b.String()
}

// TestManyFragmentsLinear: a document of many fragments is checked with one
// lookup per spread. The document's own lookup by name scans every
// definition per spread: for this document over a billion comparisons
// (seconds), instead of fifty thousand lookups (a fraction of a second).
func TestManyFragmentsLinear(t *testing.T) {
	t.Parallel()
	const n = 50_000
	doc := parse(t, chain(n))
	elapsed, err := checkWithin(t, Limits{MaxFields: n + 1}, doc, 3*time.Second)
	t.Logf("%d fragments checked in %v", n, elapsed)
	require.NoError(t, err, "n+1 fields: at the limit")
	err = Limits{MaxFields: n}.Check(doc, 0)
	var v *Violation
	require.ErrorAs(t, err, &v)
	require.Equal(t, n+1, v.Actual)
}
