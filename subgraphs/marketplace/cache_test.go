package marketplace_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

// Products are cached by id and search answers whole; every change shows at
// once, and a Redis outage costs speed, never answers.
func TestCachedProductFollowsEveryChange(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, fan := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	other := e.category("other-things", nil)
	id := e.product(seller, cat, "Cached lamp", 2000)
	const fields = `title priceCents stock status favoriteCount rating reviewCount category { id }`
	read := func() map[string]any {
		t.Helper()
		return e.read(e.Anonymous(), id, fields)
	}
	require.Equal(t, map[string]any{"title": "Cached lamp", "priceCents": 2000.0, "stock": 3.0, "status": "ACTIVE",
		"favoriteCount": 0.0, "rating": nil, "reviewCount": 0.0, "category": map[string]any{"id": cat}}, read())
	keys, err := e.Redis.Keys(t.Context(), "marketplace:product:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the product is cached after a read")
	read()

	e.favorite(fan, id)
	require.EqualValues(t, 1, read()["favoriteCount"])
	e.review(fan, id, 4)
	got := read()
	require.EqualValues(t, 4, got["rating"])
	require.EqualValues(t, 1, got["reviewCount"])
	e.update(seller, id, vars{"title": "Renamed lamp", "priceCents": 1500, "categoryId": other})
	got = read()
	require.Equal(t, "Renamed lamp", got["title"])
	require.EqualValues(t, 1500, got["priceCents"])
	require.Equal(t, other, str(got, "category", "id"))
	e.update(seller, id, vars{"stock": 0})
	require.Equal(t, "SOLD_OUT", read()["status"])
	e.Do(e.as(fan), removeFavorite, vars{"p": id}).NoErrors(t)
	require.EqualValues(t, 0, read()["favoriteCount"])
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": id}).NoErrors(t)
	require.Nil(t, read(), "archived: hidden at once")
	require.Equal(t, "ARCHIVED", str(e.read(e.as(seller), id, "status"), "status"))
	e.Do(e.as(seller), `mutation($id: ID!) { deleteProduct(id: $id) }`, vars{"id": id}).NoErrors(t)
	require.Nil(t, e.read(e.as(seller), id, "id"), "deleted: gone at once, not after a TTL")
}

func TestSearchCacheFollowsEveryChange(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, fan := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	first := e.product(seller, cat, "Brass lantern", 3000)
	const q = `query($f: ProductFilter, $s: ProductSort) { products(filter: $f, sort: $s) {
		edges { node { id priceCents favoriteCount rating } } facets { total prices { count } } } }`
	search := func(f vars, sort string) ([]string, any) {
		t.Helper()
		v := vars{"f": f}
		if sort != "" {
			v["s"] = sort
		}
		r := e.Do(e.Anonymous(), q, v).NoErrors(t)
		return ids(r.Data["products"]), field(r.Data, "products", "facets", "total")
	}
	lanterns := vars{"search": "lantern"}
	got, total := search(lanterns, "PRICE_ASC")
	require.Equal(t, []string{first}, got)
	require.EqualValues(t, 1, total)
	keys, err := e.Redis.Keys(t.Context(), "marketplace:search:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "search answers are cached")
	search(lanterns, "PRICE_ASC")

	// A new matching product shows in the next search.
	second := e.product(seller, cat, "Paper lantern", 900)
	got, total = search(lanterns, "PRICE_ASC")
	require.Equal(t, []string{second, first}, got)
	require.EqualValues(t, 2, total)
	// So do a price change, favourites, reviews and a withdrawal.
	e.update(seller, first, vars{"priceCents": 500})
	got, _ = search(lanterns, "PRICE_ASC")
	require.Equal(t, []string{first, second}, got)
	got, _ = search(lanterns, "POPULARITY")
	e.favorite(fan, got[1])
	popular, _ := search(lanterns, "POPULARITY")
	require.Equal(t, got[1], popular[0])
	got, _ = search(vars{"search": "lantern", "minRating": 3}, "")
	require.Empty(t, got)
	e.review(fan, second, 5)
	got, _ = search(vars{"search": "lantern", "minRating": 3}, "")
	require.Equal(t, []string{second}, got)
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": second}).NoErrors(t)
	got, total = search(lanterns, "PRICE_ASC")
	require.Equal(t, []string{first}, got)
	require.EqualValues(t, 1, total)
	// A category move changes what a category filter holds.
	top := e.category("top", nil)
	got, _ = search(vars{"categoryId": top}, "")
	require.Empty(t, got)
	e.Do(e.as(staff), moveCategory, vars{"id": cat, "p": top}).NoErrors(t)
	got, _ = search(vars{"categoryId": top}, "")
	require.Equal(t, []string{first}, got)
}

func TestAnswersWithoutRedis(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, fan := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Sturdy lantern", 3000)
	e.read(e.Anonymous(), id, "title")
	e.Do(e.Anonymous(), `{ products(filter: {search: "lantern"}) { edges { node { id } } facets { total } } }`, nil).NoErrors(t)

	e.RedisServer.Stop()
	require.Equal(t, "Sturdy lantern", str(e.read(e.Anonymous(), id, "title"), "title"))
	e.favorite(fan, id)
	e.review(fan, id, 5)
	e.update(seller, id, vars{"title": "Sturdier lantern"})
	second := e.product(seller, cat, "Another lantern", 1000)
	require.Equal(t, map[string]any{"title": "Sturdier lantern", "favoriteCount": 1.0, "rating": 5.0, "isFavorite": true},
		e.read(e.as(fan), id, "title favoriteCount rating isFavorite"))
	r := e.Do(e.Anonymous(), `{ products(filter: {search: "lantern"}, sort: PRICE_ASC) { edges { node { id } } facets { total } } productCategories { productCount } }`, nil).NoErrors(t)
	require.Equal(t, []string{second, id}, ids(r.Data["products"]))
	require.EqualValues(t, 2, field(r.Data, "products", "facets", "total"))
	require.Equal(t, []any{map[string]any{"productCount": 2.0}}, r.Data["productCategories"])
}

// One cached search answer serves every user; what depends on the viewer
// (isFavorite, a seller's drafts) and on the variables never crosses over.
// Users and variables interleave, each answer compared with what that user
// alone should see.
func TestCachedSearchKeepsEachViewersOwnFields(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	cat := e.category("lamps", nil)
	cheap := e.product(seller, cat, "Paper lamp shade", 900)
	dear := e.product(seller, cat, "Copper lamp stand", 9900)
	draft := e.product(seller, cat, "Unfinished lamp base", 500, func(in map[string]any) { in["status"] = "DRAFT" })
	users := []person{newPerson(), newPerson(), newPerson()}
	favourites := map[int]string{0: cheap, 1: dear} // user 2 has none
	for i, id := range favourites {
		e.Do(e.as(users[i]), `mutation($p: ID!) { addFavorite(productId: $p) { id } }`, vars{"p": id}).NoErrors(t)
	}
	const q = `query($max: Int) { products(filter: {search: "lamp", maxPriceCents: $max}, sort: PRICE_ASC) { edges { node { id isFavorite } } } }`
	for round := range 3 {
		for i, u := range users {
			for _, max := range []int{1000, 100000} {
				r := e.Do(e.as(u), q, vars{"max": max}).NoErrors(t)
				want := []map[string]any{{"id": cheap, "isFavorite": favourites[i] == cheap}}
				if max > 1000 {
					want = append(want, map[string]any{"id": dear, "isFavorite": favourites[i] == dear})
				}
				require.Equal(t, want, nodes(r.Data["products"]), "round %d, user %d, max %d", round, i, max)
			}
		}
		// The seller's own draft is theirs in User.products, never in a search.
		r := e.Do(e.as(seller), q, vars{"max": 100000}).NoErrors(t)
		require.NotContains(t, ids(r.Data["products"]), draft)
	}
}
