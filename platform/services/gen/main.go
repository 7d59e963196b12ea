// Command gen writes the files that repeat the service registry
// (platform/services): the graph config, the Procfile, the shell scripts'
// service list, the PostgreSQL init script, the compose file with its
// gateway's configuration, and the README's table of services. `make generate` runs it from the repository root; with
// -check it only lists the files that differ and fails (its test does the same).
package main

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"supergraph/platform/services"
)

//go:embed templates/*.tmpl
var templates embed.FS

// outputs maps each generated file, relative to the repository root, to its
// template. README.md is generated between its two markers only.
var outputs = map[string]string{
	"graph/graph.yaml":         "graph.yaml.tmpl",
	"Procfile":                 "Procfile.tmpl",
	"scripts/services.env":     "services.env.tmpl",
	"deploy/postgres-init.sql": "postgres-init.sql.tmpl",
	"docker-compose.yml":       "docker-compose.yml.tmpl",
	"deploy/gateway/Caddyfile": "Caddyfile.tmpl",
	"README.md":                "README.md.tmpl",
}

// The README's generated region lies between these lines.
const (
	readmeBegin = "<!-- services: generated from platform/services by make generate; edit the registry, not this table -->"
	readmeEnd   = "<!-- services: end -->"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	check := flag.Bool("check", false, "write nothing; fail when a file differs from what the registry says")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "services/gen:", err)
		os.Exit(1)
	}
}

func run(root string, check bool) error {
	files, err := render(root)
	if err != nil {
		return err
	}
	var stale []string
	for path, want := range files {
		have, err := os.ReadFile(filepath.Join(root, path))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if bytes.Equal(have, want) {
			continue
		}
		if check {
			stale = append(stale, path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, path), want, 0o644); err != nil {
			return err
		}
		fmt.Println("generated", path)
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s disagree with the service registry: run make generate", strings.Join(stale, ", "))
	}
	return nil
}

// data is what the templates see.
type data struct {
	Subgraphs      []services.Service
	Router, Worker services.Service
	// Users issues the access tokens: the router reads its JWKS and deny-list.
	Users services.Service
	Queue int
	Local string
}

// render returns every generated file's content, by path.
func render(root string) (map[string][]byte, error) {
	d := data{
		Subgraphs: services.Subgraphs, Router: services.Router, Worker: services.Worker,
		Users: services.MustSubgraph("users"), Queue: services.QueueRedisDB, Local: services.LocalHost,
	}
	funcs := template.FuncMap{
		"header": func(comment string) string {
			return comment + " Generated from the service registry (platform/services) by `make generate`:\n" +
				comment + " edit the registry or platform/services/gen/templates, not this file."
		},
		"queueURL": func(host string) string { return services.RedisURL(host, services.QueueRedisDB) },
		// composeDatabaseURL is database on the compose file's PostgreSQL,
		// with the password compose interpolates from .env.
		"composeDatabaseURL": func(database string) string {
			return services.DatabaseURLWithPassword("postgres", "${POSTGRES_PASSWORD}", database)
		},
	}
	tmpl, err := template.New("").Funcs(funcs).Option("missingkey=error").ParseFS(templates, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for path, name := range outputs {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, name, d); err != nil {
			return nil, err
		}
		files[path] = b.Bytes()
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, err
	}
	files["README.md"], err = splice(readme, files["README.md"])
	return files, err
}

// splice replaces what lies between the README's markers with region.
func splice(readme, region []byte) ([]byte, error) {
	before, rest, ok := bytes.Cut(readme, []byte(readmeBegin+"\n"))
	_, after, ok2 := bytes.Cut(rest, []byte(readmeEnd+"\n"))
	if !ok || !ok2 {
		return nil, fmt.Errorf("README.md: the lines %q and %q must enclose the table of services", readmeBegin, readmeEnd)
	}
	var b bytes.Buffer
	b.Write(before)
	b.WriteString(readmeBegin + "\n")
	b.Write(region)
	b.WriteString(readmeEnd + "\n")
	b.Write(after)
	return b.Bytes(), nil
}
