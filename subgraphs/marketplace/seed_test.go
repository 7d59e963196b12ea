package marketplace_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/subgraphs/marketplace"
)

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	require.NoError(t, marketplace.Seed(ctx, e.app.Domain, log))
	require.NoError(t, marketplace.Seed(ctx, e.app.Domain, log))

	r := e.Do(e.Anonymous(), `{ products(sort: NEWEST, first: 50) { edges { node { title rating reviewCount favoriteCount } } facets { total } } productCategories { slug productCount } }`, nil).NoErrors(t)
	require.EqualValues(t, 6, field(r.Data, "products", "facets", "total"))
	require.Len(t, nodes(field(r.Data, "products")), 6)
	counts := map[string]any{}
	for _, c := range r.Data["productCategories"].([]any) {
		counts[c.(map[string]any)["slug"].(string)] = c.(map[string]any)["productCount"]
	}
	require.EqualValues(t, 3, counts["electronics"], "phones, laptops and audio add up")
	require.EqualValues(t, 1, counts["phones"])
	require.EqualValues(t, 1, counts["books"])
}
