// Package subgraphs_test guards the subgraph contract written in README.md
// beside this file: what an import graph and the domain packages' exported
// declarations can show. The rest of the contract is for review.
package subgraphs_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The contract is README.md; each failure below names the rule it breaks.
const contract = "see subgraphs/README.md"

// pkg is what `go list -json` says about one package of the workspace.
type pkg struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

// workspace lists every package of the workspace (router, worker, e2e
// included: none of them may reach into a subgraph's store either).
func workspace(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Dir,GoFiles,Imports,TestImports,XTestImports,Deps", "supergraph/...").Output()
	require.NoError(t, err)
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

func TestSubgraphsDoNotImportEachOther(t *testing.T) {
	checked := 0
	for _, p := range workspace(t) {
		owner := subgraphOf(p.ImportPath)
		if owner == "" {
			continue
		}
		checked++
		for _, dep := range p.Deps {
			if other := subgraphOf(dep); other != "" && other != owner {
				t.Errorf("%s imports %s: subgraphs must not import each other (%s)", p.ImportPath, dep, contract)
			}
		}
	}
	require.NotZero(t, checked, "no subgraph packages found")
}

// TestOnlyTheDomainImportsTheStore: a subgraph's sqlc package is imported by
// its domain package alone (graph → domain → store), never by its
// resolvers, its app, its tests, another subgraph, the worker or the router.
func TestOnlyTheDomainImportsTheStore(t *testing.T) {
	stores := 0
	for _, p := range workspace(t) {
		if isStore(p.ImportPath) {
			stores++
		}
		imports := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
		for _, imp := range imports {
			if !isStore(imp) {
				continue
			}
			if !isDomainOf(p.ImportPath, subgraphOf(imp)) {
				t.Errorf("%s imports %s: only the subgraph's domain package may import its store (%s)", p.ImportPath, imp, contract)
			}
		}
	}
	require.NotZero(t, stores, "no store packages found")
}

// TestDomainAPIHasNoStoreTypes: the domain converts sqlc rows and enums to
// its own types; no exported function, method, type or field of a domain
// package mentions the store.
func TestDomainAPIHasNoStoreTypes(t *testing.T) {
	domains := 0
	for _, p := range workspace(t) {
		if !isDomainOf(p.ImportPath, subgraphOf(p.ImportPath)) {
			continue
		}
		domains++
		for _, name := range p.GoFiles {
			for _, leak := range storeInAPI(t, filepath.Join(p.Dir, name)) {
				t.Errorf("%s: %s exposes the store (%s)", p.ImportPath, leak, contract)
			}
		}
	}
	require.NotZero(t, domains, "no domain packages found")
}

// storeInAPI returns the exported declarations of a file whose types name
// a package imported as ".../store".
func storeInAPI(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	storeName := ""
	for _, imp := range f.Imports {
		path := strings.Trim(imp.Path.Value, `"`)
		if isStore(path) {
			storeName = "store"
			if imp.Name != nil {
				storeName = imp.Name.Name
			}
		}
	}
	if storeName == "" {
		return nil
	}
	mentions := func(n ast.Node) bool {
		found := false
		ast.Inspect(n, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == storeName {
					found = true
				}
			}
			return !found
		})
		return found
	}
	var leaks []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
				continue
			}
			if mentions(d.Type) {
				leaks = append(leaks, "func "+d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					if st, ok := s.Type.(*ast.StructType); ok && !s.Assign.IsValid() {
						for _, field := range st.Fields.List {
							if exportedField(field) && mentions(field.Type) {
								leaks = append(leaks, "type "+s.Name.Name+" (a field)")
							}
						}
					} else if mentions(s.Type) {
						leaks = append(leaks, "type "+s.Name.Name)
					}
				case *ast.ValueSpec:
					for i, n := range s.Names {
						if n.IsExported() && ((s.Type != nil && mentions(s.Type)) || (i < len(s.Values) && mentions(s.Values[i]))) {
							leaks = append(leaks, "var/const "+n.Name)
						}
					}
				}
			}
		}
	}
	return leaks
}

func exportedRecv(recv *ast.FieldList) bool {
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if idx, ok := typ.(*ast.IndexExpr); ok {
		typ = idx.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

func exportedField(f *ast.Field) bool {
	if len(f.Names) == 0 { // embedded: its fields are promoted
		return true
	}
	for _, n := range f.Names {
		if n.IsExported() {
			return true
		}
	}
	return false
}

// subgraphOf returns the subgraph a package belongs to, or "".
func subgraphOf(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "supergraph/subgraphs/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "internal" || strings.HasSuffix(name, "_test") || name == "supergraph/subgraphs" {
		return ""
	}
	return name
}

// isStore reports whether pkg is a subgraph's sqlc package.
func isStore(pkg string) bool {
	name := subgraphOf(pkg)
	return name != "" && pkg == "supergraph/subgraphs/"+name+"/store"
}

// isDomainOf reports whether pkg is subgraph's domain package: the one
// directory beside graph/, store/ and cmd/ that holds the rules.
func isDomainOf(pkg, subgraph string) bool {
	if subgraph == "" {
		return false
	}
	rest, ok := strings.CutPrefix(pkg, "supergraph/subgraphs/"+subgraph+"/")
	if !ok || strings.Contains(rest, "/") {
		return false
	}
	switch rest {
	case "graph", "store", "cmd":
		return false
	}
	return true
}
