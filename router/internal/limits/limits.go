// Package limits stops abusive GraphQL documents before the router spends work
// on them: token count before parsing; depth, aliases, root fields, fields and
// directives on the parsed document, before normalization inlines fragments
// (where a fragment bomb would explode) and long before planning.
//
// Counts are taken as if fragments were inlined (a fragment spread five times
// counts five times), but computed once per fragment, so the check itself stays
// linear in the document's size however the fragments multiply.
package limits

import (
	"fmt"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/lexer"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/lexer/keyword"
)

// Limits bound one operation. Zero means unlimited.
type Limits struct {
	// MaxQueryBytes bounds the query text as sent, comments included.
	MaxQueryBytes int
	MaxTokens     int
	MaxDepth      int
	MaxAliases    int
	MaxRootFields int
	MaxDirectives int
	// MaxFields bounds the fields of the operation with every fragment
	// inlined: the work normalization does. A fragment bomb (each fragment
	// spreading the next twice) is small as sent and explodes only there.
	MaxFields int
	// DisableIntrospection refuses __schema and __type (__typename stays allowed:
	// clients need it for abstract types).
	DisableIntrospection bool
}

// Violation is a document over one limit. Setting names the configuration
// that raises it, so the client's error and the operator's knob say the same thing.
type Violation struct {
	Limit   string // query bytes, depth, aliases, root fields, fields, tokens, directives, introspection
	Setting string // e.g. ROUTER_MAX_DEPTH
	Max     int
	Actual  int
}

func (v *Violation) Error() string {
	if v.Limit == "introspection" {
		return "introspection is disabled on this router"
	}
	return fmt.Sprintf("the operation exceeds the %s limit: %d > %d (%s)", v.Limit, v.Actual, v.Max, v.Setting)
}

// ErrFragmentCycle is a document whose fragments spread each other in a cycle.
// Validation would refuse it too, but only after normalization, which must not
// see it first.
var ErrFragmentCycle = fmt.Errorf("fragment spreads form a cycle")

// CheckQueryBytes measures the query text before anything reads it.
func (l Limits) CheckQueryBytes(query string) *Violation {
	if l.MaxQueryBytes > 0 && len(query) > l.MaxQueryBytes {
		return &Violation{Limit: "query bytes", Setting: "ROUTER_MAX_QUERY_BYTES", Max: l.MaxQueryBytes, Actual: len(query)}
	}
	return nil
}

// CheckTokens counts the lexical tokens of query when it could exceed the
// limit. A token is at least one byte, so a query no longer than the limit
// needs no counting: the common case costs nothing.
func (l Limits) CheckTokens(query string) *Violation {
	if l.MaxTokens <= 0 || len(query) <= l.MaxTokens {
		return nil
	}
	var in ast.Input
	in.ResetInputString(query)
	var lx lexer.Lexer
	lx.SetInput(&in)
	n := 0
	for {
		tok := lx.Read()
		switch tok.Keyword {
		case keyword.EOF:
			return nil
		case keyword.COMMENT:
			continue
		}
		n++
		if n > l.MaxTokens {
			// Stop lexing at the limit: the exact count of a huge document is
			// not worth reading it to the end.
			return &Violation{Limit: "tokens", Setting: "ROUTER_MAX_TOKENS", Max: l.MaxTokens, Actual: n}
		}
	}
}

// ceiling keeps counts of fragment bombs from overflowing; anything this large
// is over every sensible limit anyway.
const ceiling = 1 << 40

func add(a, b int) int { return min(a+b, ceiling) }

// stats of a selection set with fragments counted as inlined. roots and intro
// are only counted for selection sets on the operation's root type.
type stats struct {
	depth      int
	fields     int
	aliases    int
	directives int
	roots      int
	intro      bool
}

func (s *stats) merge(o stats) {
	s.depth = max(s.depth, o.depth)
	s.fields = add(s.fields, o.fields)
	s.aliases = add(s.aliases, o.aliases)
	s.directives = add(s.directives, o.directives)
	s.roots = add(s.roots, o.roots)
	s.intro = s.intro || o.intro
}

type fragKey struct {
	ref  int
	root bool
}

type checker struct {
	doc *ast.Document
	// frags finds fragments by name: the document's own lookup scans every
	// definition, which a document of many spreads and fragments makes quadratic.
	frags    map[string]int
	memo     map[fragKey]stats
	visiting map[int]bool
}

// Check measures operation opRef of doc against the limits. It returns a
// *Violation, ErrFragmentCycle or nil.
func (l Limits) Check(doc *ast.Document, opRef int) error {
	op := doc.OperationDefinitions[opRef]
	c := &checker{doc: doc, frags: make(map[string]int, len(doc.FragmentDefinitions)), memo: map[fragKey]stats{}, visiting: map[int]bool{}}
	for i := range doc.FragmentDefinitions {
		name := doc.FragmentDefinitionNameString(i)
		if _, dup := c.frags[name]; !dup { // the first definition, as the document's lookup finds
			c.frags[name] = i
		}
	}
	var s stats
	if op.HasSelections {
		var err error
		if s, err = c.selectionSet(op.SelectionSet, true); err != nil {
			return err
		}
	}
	s.directives = add(s.directives, len(op.Directives.Refs))
	for _, v := range op.VariableDefinitions.Refs {
		s.directives = add(s.directives, len(doc.VariableDefinitions[v].Directives.Refs))
	}
	switch {
	case l.DisableIntrospection && s.intro:
		return &Violation{Limit: "introspection", Setting: "ROUTER_INTROSPECTION"}
	case l.MaxDepth > 0 && s.depth > l.MaxDepth:
		return &Violation{Limit: "depth", Setting: "ROUTER_MAX_DEPTH", Max: l.MaxDepth, Actual: s.depth}
	case l.MaxAliases > 0 && s.aliases > l.MaxAliases:
		return &Violation{Limit: "aliases", Setting: "ROUTER_MAX_ALIASES", Max: l.MaxAliases, Actual: s.aliases}
	case l.MaxRootFields > 0 && s.roots > l.MaxRootFields:
		return &Violation{Limit: "root fields", Setting: "ROUTER_MAX_ROOT_FIELDS", Max: l.MaxRootFields, Actual: s.roots}
	case l.MaxFields > 0 && s.fields > l.MaxFields:
		return &Violation{Limit: "fields", Setting: "ROUTER_MAX_FIELDS", Max: l.MaxFields, Actual: s.fields}
	case l.MaxDirectives > 0 && s.directives > l.MaxDirectives:
		return &Violation{Limit: "directives", Setting: "ROUTER_MAX_DIRECTIVES", Max: l.MaxDirectives, Actual: s.directives}
	}
	return nil
}

// selectionSet measures a selection set; root is true for the operation's own
// (and for fragments spread directly into it), where root fields are counted.
func (c *checker) selectionSet(ref int, root bool) (stats, error) {
	var out stats
	for _, sel := range c.doc.SelectionSets[ref].SelectionRefs {
		s := c.doc.Selections[sel]
		var sub stats
		var err error
		switch s.Kind {
		case ast.SelectionKindField:
			f := c.doc.Fields[s.Ref]
			if f.HasSelections {
				if sub, err = c.selectionSet(f.SelectionSet, false); err != nil {
					return out, err
				}
			}
			sub.depth++
			sub.fields = add(sub.fields, 1)
			if f.Alias.IsDefined {
				sub.aliases = add(sub.aliases, 1)
			}
			sub.directives = add(sub.directives, len(f.Directives.Refs))
			if root {
				sub.roots = add(sub.roots, 1)
				if name := c.doc.FieldNameString(s.Ref); name == "__schema" || name == "__type" {
					sub.intro = true
				}
			}
		case ast.SelectionKindInlineFragment:
			in := c.doc.InlineFragments[s.Ref]
			if in.HasSelections {
				if sub, err = c.selectionSet(in.SelectionSet, root); err != nil {
					return out, err
				}
			}
			sub.directives = add(sub.directives, len(in.Directives.Refs))
		case ast.SelectionKindFragmentSpread:
			if sub, err = c.spread(s.Ref, root); err != nil {
				return out, err
			}
			sub.directives = add(sub.directives, len(c.doc.FragmentSpreads[s.Ref].Directives.Refs))
		}
		out.merge(sub)
	}
	return out, nil
}

// spread measures a fragment spread: each fragment is measured once (per
// root-ness) and its counts reused for every further spread.
func (c *checker) spread(ref int, root bool) (stats, error) {
	frag, ok := c.frags[c.doc.FragmentSpreadNameString(ref)]
	if !ok {
		return stats{}, nil // an unknown fragment is for validation to report
	}
	key := fragKey{frag, root}
	if s, ok := c.memo[key]; ok {
		return s, nil
	}
	if c.visiting[frag] {
		return stats{}, ErrFragmentCycle
	}
	c.visiting[frag] = true
	defer delete(c.visiting, frag)
	fd := c.doc.FragmentDefinitions[frag]
	var s stats
	if fd.HasSelections {
		var err error
		if s, err = c.selectionSet(fd.SelectionSet, root); err != nil {
			return s, err
		}
	}
	s.directives = add(s.directives, len(fd.Directives.Refs))
	c.memo[key] = s
	return s, nil
}
