package freelance_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/demo"
	"supergraph/subgraphs/freelance"
)

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	require.NoError(t, freelance.Seed(ctx, e.svc(), slog.New(slog.DiscardHandler)))
	count := func(table string) int {
		var n int
		require.NoError(t, e.DB.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		return n
	}
	before := map[string]int{}
	for _, table := range []string{"gigs", "gig_packages", "orders", "order_events", "reviews", "portfolio_items", "outbox"} {
		before[table] = count(table)
		require.NotZero(t, before[table], table)
	}
	require.NoError(t, freelance.Seed(ctx, e.svc(), slog.New(slog.DiscardHandler)))
	for table, n := range before {
		require.Equal(t, n, count(table), "a second seed adds no %s", table)
	}

	// Orders in every state, on the demo accounts' stable ids.
	var states []string
	rows, err := e.DB.Query(ctx, "SELECT DISTINCT status::text FROM orders ORDER BY 1")
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		states = append(states, s)
	}
	require.Equal(t, []string{"CANCELLED", "COMPLETED", "DELIVERED", "IN_PROGRESS", "PENDING"}, states)
	dave := person{ID: demo.UserID(demo.Dave).String()}
	r := e.Do(e.as(dave), `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(role: BUYER) { edges { node { status gig { title } } } } } } }`,
		map[string]any{"r": []any{map[string]any{"__typename": "User", "id": dave.ID}}}).NoErrors(t)
	require.Len(t, field(r.Data["_entities"].([]any)[0], "orders", "edges"), 4)
	hits, _, _ := e.search(map[string]any{"search": "logo"}, "", 5, "")
	require.Equal(t, "I will design a minimalist logo for your brand", hits[0].Title)
	require.Equal(t, 5.0, hits[0].Rating)
}
