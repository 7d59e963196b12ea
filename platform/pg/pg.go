// Package pg opens PostgreSQL pools, applies embedded migrations under an
// advisory lock, and runs transactions.
package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"supergraph/platform/apperr"
	"supergraph/sql"
)

// Open returns a pool for url, checked with a ping.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return OpenConfig(ctx, cfg)
}

// OpenTraced is Open with tracer seeing every statement the pool runs
// (tests count a resolver's statements with one, see pgtest.Counter).
func OpenTraced(ctx context.Context, url string, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.ConnConfig.Tracer = tracer
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open for a parsed configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// Migrate applies the platform's outbox migrations and then the service's
// own. A PostgreSQL advisory lock serialises replicas starting together.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, schema string) (err error) {
	db := stdlib.OpenDBFromPool(pool)
	defer func() { err = errors.Join(err, db.Close()) }()
	for _, set := range Schemas(schema) {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
		if err != nil {
			return err
		}
		p, err := goose.NewProvider(goose.DialectPostgres, db, sql.Migrations(set),
			goose.WithSessionLocker(locker),
			goose.WithTableName("goose_"+set+"_version"),
			goose.WithDisableGlobalRegistry(true),
		)
		if err != nil {
			return fmt.Errorf("migrations %s: %w", set, err)
		}
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", set, err)
		}
		for _, r := range results {
			log.Info("migration applied", "schema", set, "version", r.Source.Version, "took", r.Duration)
		}
	}
	return nil
}

// Schemas lists the migration sets a service's database holds, in order:
// the platform's outbox first, then the service's own.
func Schemas(schema string) []string {
	if schema == "outbox" {
		return []string{"outbox"}
	}
	return []string{"outbox", schema}
}

// Transact runs fn in a transaction and commits when fn succeeds. A
// serialization failure or deadlock is retried a few times: fn must be safe to
// run again.
func Transact(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return TransactWith(ctx, pool, pgx.TxOptions{}, fn)
}

// TransactWith is Transact with explicit options (isolation level).
func TransactWith(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	const attempts = 3
	var err error
	for range attempts {
		err = transactOnce(ctx, pool, opts, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func transactOnce(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Unless committed: after Commit, Rollback only returns pgx.ErrTxClosed, and
	// a rollback that fails closes the connection (pgx), so the transaction
	// is over either way and the error that matters is the one returned.
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// IsUniqueViolation reports whether err is a unique constraint violation,
// and on which constraint.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// IsForeignKeyViolation reports whether err is PostgreSQL's
// foreign_key_violation: a reference to a row that does not exist.
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// NotFound turns pgx's no-rows into NOT_FOUND for what; other errors pass.
func NotFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.NotFound(what)
	}
	return err
}

// NewID returns a new row id: version 7, so ids sort by creation time and
// primary key indexes stay append-mostly.
func NewID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}
