// Package sql embeds every service's migrations so that each binary applies its
// own at start. The directories are also sqlc's input (sqlc.yaml).
package sql

import (
	"embed"
	"io/fs"
)

//go:embed */migrations/*.sql
var migrations embed.FS

// Migrations returns the goose migrations of one schema: a service name
// (users, notifications, ...) or "outbox", the platform's own tables.
func Migrations(schema string) fs.FS {
	sub, err := fs.Sub(migrations, schema+"/migrations")
	if err != nil {
		panic(err) // only on a malformed constant path
	}
	return sub
}
