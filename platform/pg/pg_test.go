package pg_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"supergraph/platform/apperr"
	"supergraph/platform/pg"
	"supergraph/platform/pg/pgtest"
	"supergraph/sql"
)

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	pool := pgtest.Pool(t, "outbox")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pg.Migrate(ctx, pool, slog.New(slog.DiscardHandler), "outbox") })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	files, err := fs.Glob(sql.Migrations("outbox"), "*.sql")
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_outbox_version WHERE version_id > 0").Scan(&n))
	require.Equal(t, len(files), n, "each migration applied exactly once")
}

func TestTransactCommitsAndRollsBack(t *testing.T) {
	pool := pgtest.Pool(t, "outbox")
	ctx := context.Background()
	_, err := pool.Exec(ctx, "CREATE TABLE t (v int UNIQUE)")
	require.NoError(t, err)

	require.NoError(t, pg.Transact(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)")
		return err
	}))
	boom := errors.New("boom")
	err = pg.Transact(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	err = pg.Transact(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)")
		return err
	})
	constraint, ok := pg.IsUniqueViolation(err)
	require.True(t, ok)
	require.Equal(t, "t_v_key", constraint)

	var values []int
	rows, err := pool.Query(ctx, "SELECT v FROM t ORDER BY v")
	require.NoError(t, err)
	values, err = pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	require.Equal(t, []int{1}, values)
}

func TestNotFoundAndNewID(t *testing.T) {
	e, ok := apperr.As(pg.NotFound(pgx.ErrNoRows, "order"))
	require.True(t, ok)
	require.Equal(t, apperr.CodeNotFound, e.Code)
	require.Equal(t, "order not found", e.Message)
	other := errors.New("broken")
	require.Same(t, other, pg.NotFound(other, "order"))
	a, b := pg.NewID(), pg.NewID()
	require.EqualValues(t, 7, a.Version())
	require.Less(t, a.String(), b.String(), "ids sort by creation")
}
