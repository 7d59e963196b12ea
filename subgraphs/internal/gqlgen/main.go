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
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/goccy/go-yaml"
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
	return api.Generate(cfg)
}
