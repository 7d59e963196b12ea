package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlatformMarketplaceStory drives the marketplace through the router as
// its users would: STAFF grows the category tree, a seller lists products,
// a shopper searches with facets, favourites and reviews one, the seller
// hears of the review, and a price drop reaches the shopper — with the
// joins to users across subgraphs.
func TestPlatformMarketplaceStory(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.startSubgraphs()
	p.startRouter()
	p.startWorker()
	staff := p.azStaff("mstaff")
	seller, shopper := p.register("mseller", "SELLER"), p.register("mshopper")

	root := p.ok(staff.Token, `mutation { createProductCategory(input: {slug: "garden", name: "Garden"}) { id } }`, nil)["createProductCategory"].(map[string]any)["id"]
	tools := p.ok(staff.Token, `mutation($p: ID) { createProductCategory(input: {slug: "garden-tools", name: "Tools", parentId: $p}) { id parent { slug } } }`, map[string]any{"p": root})["createProductCategory"].(map[string]any)
	require.Equal(t, map[string]any{"slug": "garden"}, tools["parent"])

	create := `mutation($in: CreateProductInput!) { createProduct(input: $in) { id slug status seller { username } } }`
	spade := p.ok(seller.Token, create, map[string]any{"in": map[string]any{
		"title": "Stainless garden spade", "description": "Sharp, strong and rust-free.", "categoryId": tools["id"],
		"priceCents": 3500, "stock": 5, "status": "ACTIVE", "attributes": []any{map[string]any{"name": "material", "value": "steel"}},
	}})["createProduct"].(map[string]any)
	require.Equal(t, "ACTIVE", spade["status"])
	require.Equal(t, map[string]any{"username": "mseller"}, spade["seller"])
	p.ok(seller.Token, create, map[string]any{"in": map[string]any{
		"title": "Wooden garden rake", "description": "Ash handle.", "categoryId": tools["id"], "priceCents": 2200, "stock": 2, "status": "ACTIVE",
	}})
	// A shopper cannot sell.
	r := p.post(shopper.Token, create, map[string]any{"in": map[string]any{"title": "Not mine to sell", "description": "x", "categoryId": tools["id"], "priceCents": 100}})
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())

	// Search with a typo, and the facets of the answer.
	d := p.ok(shopper.Token, `query($c: ID!) { products(filter: {search: "stainles", categoryId: $c}) {
		edges { node { id title priceCents isFavorite category { name } seller { username } } }
		facets { total categories { category { slug } count } prices { minPriceCents count } } } }`, map[string]any{"c": root})
	edges := dig(d, "products", "edges").([]any)
	require.Len(t, edges, 1)
	require.Equal(t, spade["id"], dig(edges[0], "node", "id"))
	require.Equal(t, map[string]any{"username": "mseller"}, dig(edges[0], "node", "seller"))
	require.EqualValues(t, 1, dig(d, "products", "facets", "total"))
	require.Equal(t, []any{map[string]any{"category": map[string]any{"slug": "garden-tools"}, "count": float64(1)}}, dig(d, "products", "facets", "categories"))

	// Favourite, review; the seller hears of the review.
	p.ok(shopper.Token, `mutation($p: ID!) { addFavorite(productId: $p) { favoriteCount } }`, map[string]any{"p": spade["id"]})
	review := p.ok(shopper.Token, `mutation($p: ID!) { reviewProduct(productId: $p, rating: 4, comment: "Digs well.") { rating author { username } product { rating reviewCount } } }`, map[string]any{"p": spade["id"]})
	require.Equal(t, map[string]any{"rating": float64(4), "author": map[string]any{"username": "mshopper"}, "product": map[string]any{"rating": float64(4), "reviewCount": float64(1)}}, review["reviewProduct"])
	n := p.waitNotification(seller.Token, "PRODUCT_REVIEW")
	require.Equal(t, "New review: Stainless garden spade", n["title"])

	// The seller drops the price; the shopper who favourited it is told.
	p.ok(seller.Token, `mutation($p: ID!) { updateProduct(id: $p, input: {priceCents: 2900}) { priceCents } }`, map[string]any{"p": spade["id"]})
	drop := p.waitNotification(shopper.Token, "PRICE_DROP")
	require.Equal(t, "Price drop: Stainless garden spade", drop["title"])
	require.Equal(t, "Now 29.00 EUR, was 35.00 EUR.", drop["body"])

	me := p.ok(shopper.Token, `{ me { username favoriteProducts { edges { node { title priceCents favoriteCount isFavorite } } } } }`, nil)
	require.Equal(t, []any{map[string]any{"node": map[string]any{"title": "Stainless garden spade", "priceCents": float64(2900), "favoriteCount": float64(1), "isFavorite": true}}},
		dig(me, "me", "favoriteProducts", "edges"))
	// Favourites are private: another user's are FORBIDDEN.
	r = p.post(seller.Token, `query($u: ID!) { user(id: $u) { favoriteProducts { edges { node { id } } } } }`, map[string]any{"u": shopper.ID})
	require.Equal(t, []string{"FORBIDDEN"}, r.codes())
}
