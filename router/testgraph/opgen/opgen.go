// Package opgen generates GraphQL operations over a schema for differential
// tests of the router: each operation puts its arguments at random in literal,
// variable and nested-variable positions (a variable inside an object or list
// literal) and comes with several sets of variables, so that the same document
// is sent with other values. Generation is seeded: a failure reproduces.
package opgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Case is one document and the variable sets to send it with.
type Case struct {
	Query string
	// OperationName is the document's operation name ("" when anonymous).
	OperationName string
	// Vars are the variable sets, one per request; every set defines every
	// variable of the document (nullable ones may be null).
	Vars []map[string]any
}

// Pools supply the values arguments take, so that generated operations hit
// real data instead of random strings that match nothing.
type Pools struct {
	// ByName gives the values of an argument or input field by its
	// qualified name ("Query.gig.id", "GigFilter.search") or its name alone
	// ("first"), tried in that order before its type.
	ByName map[string][]any
	// ByType gives the values of a scalar by its name ("ID", "String").
	ByType map[string][]any
}

// Generator makes Cases over one schema.
type Generator struct {
	schema *ast.Schema
	rnd    *rand.Rand
	pools  Pools
	// Skip leaves out fields by "Type.field" (fields a test cannot compare).
	Skip map[string]bool
	// MaxDepth bounds the selection depth (default 2).
	MaxDepth int
}

// New returns a generator seeded with seed.
func New(schema *ast.Schema, seed uint64, pools Pools) *Generator {
	return &Generator{schema: schema, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), pools: pools, Skip: map[string]bool{}, MaxDepth: 2}
}

// Fields lists the root fields of an operation type ("Query", "Mutation")
// that take arguments, sorted: the ones whose argument positions matter.
func (g *Generator) Fields(root string) []string {
	def := g.schema.Types[root]
	if def == nil {
		return nil
	}
	var out []string
	for _, f := range def.Fields {
		if len(f.Arguments) > 0 && !strings.HasPrefix(f.Name, "_") && !g.Skip[root+"."+f.Name] {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Nestable reports whether a root field takes an input object or a list:
// arguments that can hold nested variables.
func (g *Generator) Nestable(root, field string) bool {
	f := g.schema.Types[root].Fields.ForName(field)
	for _, a := range f.Arguments {
		def := g.schema.Types[a.Type.Name()]
		if a.Type.Elem != nil || (def != nil && def.Kind == ast.InputObject) {
			return true
		}
	}
	return false
}

// op is the operation being built.
type op struct {
	g    *Generator
	defs []string // variable definitions, in order
	// types and names give each variable's type and the argument or input
	// field it stands for (which picks its pool).
	types map[string]*ast.Type
	names map[string][2]string // parent, name
}

// Operation builds a document of type opType ("query" or "mutation") that
// selects field of the root type, with sets variable sets.
func (g *Generator) Operation(opType, field string, sets int) Case {
	rootName := "Query"
	if opType == "mutation" {
		rootName = "Mutation"
	}
	def := g.schema.Types[rootName]
	f := def.Fields.ForName(field)
	if f == nil {
		panic(fmt.Sprintf("opgen: no field %s.%s", rootName, field))
	}
	o := &op{g: g, types: map[string]*ast.Type{}, names: map[string][2]string{}}
	var b strings.Builder
	if g.rnd.IntN(3) == 0 {
		b.WriteString("r: ")
	}
	b.WriteString(field)
	o.arguments(&b, rootName+"."+field, f.Arguments)
	o.selection(&b, f.Type, 1)
	body := b.String()

	name := ""
	if g.rnd.IntN(2) == 0 {
		name = "Op" + strconv.Itoa(g.rnd.IntN(1000))
	}
	var doc strings.Builder
	doc.WriteString(opType)
	if name != "" {
		doc.WriteString(" " + name)
	}
	if len(o.defs) > 0 {
		doc.WriteString("(" + strings.Join(o.defs, ", ") + ")")
	}
	if g.rnd.IntN(3) == 0 {
		// The same selection through a fragment on the root type.
		doc.WriteString(" { ...R } fragment R on " + rootName + " { " + body + " }")
	} else {
		doc.WriteString(" { " + body + " }")
	}

	c := Case{Query: doc.String(), OperationName: name}
	for range sets {
		vars := map[string]any{}
		for v, t := range o.types {
			vars[v] = g.value(t, o.names[v][0], o.names[v][1], true)
		}
		c.Vars = append(c.Vars, vars)
	}
	return c
}

// arguments writes an argument list, leaving out optional arguments at random.
func (o *op) arguments(b *strings.Builder, parent string, args ast.ArgumentDefinitionList) {
	var parts []string
	for _, a := range args {
		if !a.Type.NonNull && o.g.rnd.IntN(3) == 0 {
			continue
		}
		parts = append(parts, a.Name+": "+o.position(a.Type, parent, a.Name))
	}
	if len(parts) > 0 {
		b.WriteString("(" + strings.Join(parts, ", ") + ")")
	}
}

// position writes a value of type t for the argument or input field name of
// parent: a literal, a variable, or (objects and lists) a literal holding
// more positions.
func (o *op) position(t *ast.Type, parent, name string) string {
	named := o.g.schema.Types[t.Name()]
	nestable := t.Elem != nil || (named != nil && named.Kind == ast.InputObject)
	// Nested positions are where a literal's normalization depends on a
	// variable's value: they get half the chances.
	switch k := o.g.rnd.IntN(4); {
	case k == 0:
		return literal(o.g.value(t, parent, name, false), t, o.g.schema)
	case k == 1 || !nestable:
		return o.variable(t, parent, name)
	}
	if t.Elem != nil {
		n := 1 + o.g.rnd.IntN(2)
		items := make([]string, n)
		for i := range items {
			items[i] = o.position(t.Elem, parent, name)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	var fields []string
	for _, f := range named.Fields {
		if !f.Type.NonNull && o.g.rnd.IntN(2) == 0 {
			continue
		}
		fields = append(fields, f.Name+": "+o.position(f.Type, named.Name, f.Name))
	}
	return "{" + strings.Join(fields, ", ") + "}"
}

// variable declares a variable of type t named after the position.
func (o *op) variable(t *ast.Type, parent, name string) string {
	v := "v" + strconv.Itoa(len(o.types)) + "_" + name
	o.types[v] = t
	o.names[v] = [2]string{parent, name}
	o.defs = append(o.defs, "$"+v+": "+t.String())
	return "$" + v
}

// selection writes a selection set for type t: its leaf fields without
// required arguments, and objects below it up to MaxDepth.
func (o *op) selection(b *strings.Builder, t *ast.Type, depth int) {
	def := o.g.schema.Types[t.Name()]
	if def == nil || def.Kind == ast.Scalar || def.Kind == ast.Enum {
		return
	}
	b.WriteString(" { __typename")
	if def.Kind == ast.Interface || def.Kind == ast.Union {
		b.WriteString(" }")
		return
	}
	for _, f := range def.Fields {
		if strings.HasPrefix(f.Name, "__") || o.g.Skip[def.Name+"."+f.Name] || required(f.Arguments) {
			continue
		}
		sub := o.g.schema.Types[f.Type.Name()]
		leaf := sub != nil && (sub.Kind == ast.Scalar || sub.Kind == ast.Enum)
		if !leaf && depth >= o.g.MaxDepth {
			continue
		}
		if o.g.rnd.IntN(4) == 0 {
			continue
		}
		b.WriteString(" ")
		if o.g.rnd.IntN(6) == 0 {
			b.WriteString("a" + strconv.Itoa(o.g.rnd.IntN(100)) + "_" + f.Name + ": ")
		}
		b.WriteString(f.Name)
		if len(f.Arguments) > 0 && o.g.rnd.IntN(2) == 0 {
			o.arguments(b, def.Name+"."+f.Name, f.Arguments)
		}
		if !leaf {
			o.selection(b, f.Type, depth+1)
		}
	}
	b.WriteString(" }")
}

func required(args ast.ArgumentDefinitionList) bool {
	for _, a := range args {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

// value is a random value of type t (JSON-shaped: string, int, bool, float,
// []any, map[string]any or nil). Nullable positions are sometimes null when
// nullOK.
func (g *Generator) value(t *ast.Type, parent, name string, nullOK bool) any {
	if !t.NonNull && nullOK && g.rnd.IntN(8) == 0 {
		return nil
	}
	if t.Elem != nil {
		n := g.rnd.IntN(3)
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(t.Elem, parent, name, false)
		}
		return out
	}
	for _, key := range []string{parent + "." + name, name} {
		if pool := g.pools.ByName[key]; len(pool) > 0 {
			return pool[g.rnd.IntN(len(pool))]
		}
	}
	def := g.schema.Types[t.Name()]
	switch {
	case def == nil:
		return nil
	case def.Kind == ast.Enum:
		return def.EnumValues[g.rnd.IntN(len(def.EnumValues))].Name
	case def.Kind == ast.InputObject:
		m := map[string]any{}
		for _, f := range def.Fields {
			if !f.Type.NonNull && g.rnd.IntN(2) == 0 {
				continue
			}
			m[f.Name] = g.value(f.Type, def.Name, f.Name, true)
		}
		return m
	}
	if pool := g.pools.ByType[def.Name]; len(pool) > 0 {
		return pool[g.rnd.IntN(len(pool))]
	}
	switch def.Name {
	case "Int":
		return g.rnd.IntN(50)
	case "Float":
		return float64(g.rnd.IntN(1000)) / 10
	case "Boolean":
		return g.rnd.IntN(2) == 0
	default:
		return "s" + strconv.Itoa(g.rnd.IntN(1000))
	}
}

// literal writes v as a GraphQL literal of type t.
func literal(v any, t *ast.Type, schema *ast.Schema) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case []any:
		items := make([]string, len(x))
		for i, item := range x {
			items[i] = literal(item, t.Elem, schema)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		def := schema.Types[t.Name()]
		var fields []string
		for _, f := range def.Fields {
			if fv, ok := x[f.Name]; ok {
				fields = append(fields, f.Name+": "+literal(fv, f.Type, schema))
			}
		}
		return "{" + strings.Join(fields, ", ") + "}"
	case string:
		if def := schema.Types[t.Name()]; def != nil && def.Kind == ast.Enum {
			return x
		}
		q, _ := json.Marshal(x) // a JSON string is a GraphQL string
		return string(q)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
