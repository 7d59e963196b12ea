// Command gqlgen generates every subgraph's GraphQL code from graph/*.graphqls
// with the shared settings of the repository's gqlgen.yml. Run it from the
// subgraphs module: `go run ./internal/gqlgen [name...]`.
package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/goccy/go-yaml"
	"github.com/vektah/gqlparser/v2/ast"
	"golang.org/x/tools/imports"
)

func main() {
	// gqlgen logs every resolver it adds ("nothing matched"): expected here,
	// since resolvers are written by hand, and noise in `make generate`.
	log.SetOutput(io.Discard)
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(1)
	}
}

func run(names []string) error {
	shared, err := os.ReadFile("../gqlgen.yml")
	if err != nil {
		return err
	}
	if len(names) == 0 {
		schemas, err := filepath.Glob("../graph/*.graphqls")
		if err != nil {
			return err
		}
		for _, s := range schemas {
			names = append(names, strings.TrimSuffix(filepath.Base(s), ".graphqls"))
		}
	}
	for _, name := range names {
		if err := generate(shared, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Println("generated", name)
	}
	return nil
}

// generate overlays one subgraph's paths on the shared settings.
func generate(shared []byte, name string) error {
	var settings map[string]any
	if err := yaml.Unmarshal(shared, &settings); err != nil {
		return fmt.Errorf("parse gqlgen.yml: %w", err)
	}
	dir := name + "/graph"
	settings["schema"] = []string{"../graph/" + name + ".graphqls"}
	settings["exec"] = map[string]any{"filename": dir + "/generated/generated.go", "package": "generated"}
	federation := settings["federation"].(map[string]any)
	federation["filename"] = dir + "/generated/federation.go"
	federation["package"] = "generated"
	settings["model"] = map[string]any{"filename": dir + "/model/models_gen.go", "package": "model"}
	settings["resolver"] = map[string]any{
		"layout": "follow-schema", "dir": dir, "package": "graph",
		"filename_template": "{name}.resolvers.go",
	}
	settings["autobind"] = []string{"supergraph/subgraphs/" + name + "/graph/model"}
	out, err := yaml.Marshal(settings)
	if err != nil {
		return err
	}
	cfg, err := config.ReadConfig(bytes.NewReader(out))
	if err != nil {
		return err
	}
	leaves := &scalarObjects{}
	if err := api.Generate(cfg, api.AddPlugin(leaves)); err != nil {
		return err
	}
	return sequentialLists(cfg.Exec.Filename, leaves.names)
}

// scalarObjects collects the object types whose fields are all scalars or
// enums with no resolver: marshalling one can never wait on anything.
type scalarObjects struct{ names []string }

func (*scalarObjects) Name() string { return "scalar-objects" }

func (p *scalarObjects) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		plain := len(o.Fields) > 0
		for _, f := range o.Fields {
			kind := f.TypeReference.Definition.Kind
			plain = plain && !f.IsConcurrent() && (kind == ast.Scalar || kind == ast.Enum)
		}
		if plain {
			p.names = append(p.names, o.Name)
		}
	}
	return nil
}

// sequentialLists makes the generated code marshal lists of those types
// element after element (gqlserver.MarshalSlice) instead of on a goroutine
// per element, which gqlgen does for every list of objects.
func sequentialLists(file string, names []string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	changed := false
	for _, name := range names {
		for _, nullability := range []string{"N", "O"} {
			head := []byte("func (ec *executionContext) marshal" + nullability + name + "2ᚕ")
			start := bytes.Index(src, head)
			if start < 0 {
				continue
			}
			end := start + bytes.Index(src[start:], []byte("\n}\n"))
			body := bytes.Replace(src[start:end], []byte("graphql.MarshalSliceConcurrently("), []byte("gqlserver.MarshalSlice("), 1)
			if len(body) != end-start {
				src = append(src[:start:start], append(body, src[end:]...)...)
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	src = bytes.Replace(src, []byte("import (\n"), []byte("import (\n\t\"supergraph/platform/gqlserver\"\n"), 1)
	if src, err = imports.Process(file, src, nil); err != nil {
		return err
	}
	return os.WriteFile(file, src, 0o644)
}
