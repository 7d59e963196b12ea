// Package pgtest gives each test a fresh PostgreSQL database in milliseconds:
// a template database is migrated once per schema version (its name carries a
// hash of the migrations) and cloned for every caller.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"supergraph/platform/pg"
	"supergraph/sql"
)

// AdminURL is the server the tests use; POSTGRES_URL overrides it.
func AdminURL() string {
	if u := os.Getenv("POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var templates sync.Map // schema -> *sync.Once-guarded template name

type templateResult struct {
	once sync.Once
	name string
	err  error
}

// URL returns the connection URL of a new database with schema's migrations
// applied, dropped when the test ends.
func URL(t testing.TB, schema string) string {
	t.Helper()
	ctx := context.Background()
	tmpl, err := template(ctx, schema)
	if err != nil {
		t.Fatalf("pgtest: template for %s: %v", schema, err)
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("pgtest: connect to PostgreSQL (is it running? run scripts/services.sh ensure): %v", err)
	}
	defer func() {
		if err := admin.Close(ctx); err != nil {
			t.Errorf("pgtest: close the admin connection: %v", err)
		}
	}()
	name := "test_" + schema + "_" + randomSuffix()
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("pgtest: clone %s: %v", tmpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Best effort, like the drop itself: a database left behind costs disk,
		// not a test result.
		conn, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		t.Fatalf("pgtest: POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool returns a pool on a new database (see URL), closed when the test ends.
func Pool(t testing.TB, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Open(context.Background(), URL(t, schema))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func template(ctx context.Context, schema string) (string, error) {
	v, _ := templates.LoadOrStore(schema, &templateResult{})
	r := v.(*templateResult)
	r.once.Do(func() { r.name, r.err = ensureTemplate(ctx, schema) })
	return r.name, r.err
}

// ensureTemplate creates the migrated template once across all test
// processes: an advisory lock serialises packages running in parallel.
func ensureTemplate(ctx context.Context, schema string) (string, error) {
	hash, err := migrationsHash(schema)
	if err != nil {
		return "", err
	}
	name := "tmpl_" + schema + "_" + hash
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL (is it running? run scripts/services.sh ensure): %w", err)
	}
	// By the time it ends, the template is built or the error is returned:
	// ending the session changes neither.
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7261001)"); err != nil {
		return "", err
	}
	defer func() { _, _ = admin.Exec(ctx, "SELECT pg_advisory_unlock(7261001)") }() // released with the session anyway
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", err
	}
	cfg, err := pgxpool.ParseConfig(AdminURL())
	if err != nil {
		return "", err
	}
	cfg.ConnConfig.Database = building
	pool, err := pg.OpenConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	err = pg.Migrate(ctx, pool, slog.New(slog.DiscardHandler), schema)
	pool.Close()
	if err != nil {
		return "", err
	}
	// Renamed only when complete, so a crashed run never leaves a half-built template.
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash(schema string) (string, error) {
	h := sha256.New()
	for _, set := range pg.Schemas(schema) {
		err := fs.WalkDir(sql.Migrations(set), ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(sql.Migrations(set), path)
			if err != nil {
				return err
			}
			h.Write([]byte(set + "/" + path + "\n")) // a hash.Hash never fails a write
			h.Write(data)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
