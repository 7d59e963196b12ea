package marketplace_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

// item is one product of the search catalogue and what the test knows of it.
type item struct {
	id, title, description string
	category               string // its category's slug
	seller                 int
	price                  int
	condition              string
	stock                  int
	attrs                  []string // name, value pairs
	ratings                []int
	favs                   int
}

func (it item) rating() float64 {
	if len(it.ratings) == 0 {
		return 0
	}
	sum := 0
	for _, r := range it.ratings {
		sum += r
	}
	return float64(sum) / float64(len(it.ratings))
}

func (it item) attr(name string) string {
	for i := 0; i+1 < len(it.attrs); i += 2 {
		if it.attrs[i] == name {
			return it.attrs[i+1]
		}
	}
	return ""
}

// catalogue is a seeded search catalogue: the tree, the listed products in
// creation order, and the hidden ones (a draft, an archived and a deleted
// product, all matching "headphones").
type catalogue struct {
	*env
	cats    map[string]string // slug -> id
	parent  map[string]string // slug -> parent slug ("" for roots)
	roots   []string          // root slugs
	sellers []person
	items   []item
	hidden  []string
	viewer  person // favourited some products
}

var catalogueTree = []struct{ slug, name, parent string }{
	{"electronics", "Electronics", ""},
	{"audio", "Audio", "electronics"},
	{"phones", "Phones", "electronics"},
	{"computers", "Computers", "electronics"},
	{"home", "Home", ""},
	{"kitchen", "Kitchen", "home"},
	{"garden", "Garden", "home"},
	{"books", "Books", ""},
	{"fiction", "Fiction", "books"},
	{"toys", "Toys", ""},
}

// The products the full-text tests look for; fillers follow.
var catalogueItems = []item{
	{title: "Wireless headphones with noise cancelling", description: "Over-ear, thirty hours of battery.", category: "audio", seller: 0, price: 12900, condition: "NEW", stock: 5,
		attrs: []string{"colour", "black", "brand", "Sonic"}, ratings: []int{5, 4}, favs: 4},
	{title: "Studio headphones", description: "Flat response for mixing.", category: "audio", seller: 1, price: 8900, condition: "USED", stock: 2,
		attrs: []string{"colour", "blue"}, ratings: []int{3}, favs: 1},
	{title: "Bluetooth speaker", description: "Loud and clear.", category: "audio", seller: 2, price: 4500, condition: "NEW", stock: 1,
		attrs: []string{"colour", "green", "material", "bamboo"}, ratings: []int{5, 5, 5}, favs: 3},
	{title: "Bamboo cutting board", description: "For bread and vegetables.", category: "kitchen", seller: 0, price: 1900, condition: "NEW", stock: 9,
		attrs: []string{"material", "bamboo"}, ratings: []int{4, 4, 5}, favs: 2},
	{title: "Chef knife", description: "Forged steel with a handle of polished bamboo.", category: "kitchen", seller: 1, price: 3900, condition: "LIKE_NEW", stock: 4,
		attrs: []string{"colour", "black"}},
	{title: "Oak garden bench", description: "Seats three.", category: "garden", seller: 2, price: 24900, condition: "USED", stock: 1,
		attrs: []string{"material", "oak", "colour", "brown"}, ratings: []int{1, 2}},
	{title: "Smartphone with a big screen", description: "Unlocked.", category: "phones", seller: 0, price: 49900, condition: "REFURBISHED", stock: 3,
		attrs: []string{"colour", "blue"}, ratings: []int{4}, favs: 5},
	{title: "Paperback thriller novel", description: "A page turner.", category: "fiction", seller: 1, price: 899, condition: "USED", stock: 1},
	{title: "Desk lamp", description: "Handmade in Lisbon.", category: "home", seller: 2, price: 2500, condition: "NEW", stock: 6,
		attrs: []string{"colour", "red"}, favs: 1},
	{title: "Gaming laptop", description: "Fast.", category: "computers", seller: 0, price: 150000, condition: "NEW", stock: 0,
		attrs: []string{"colour", "black"}},
	{title: "Wooden toy train", description: "Painted by hand.", category: "toys", seller: 1, price: 1000, condition: "NEW", stock: 8,
		attrs: []string{"material", "oak", "colour", "red"}},
}

// seedCatalogue creates the catalogue: about 40 listed products over a
// two-level tree, with attributes, prices in every bucket, reviews and
// favourites, and three hidden products.
func seedCatalogue(t *testing.T) *catalogue {
	t.Helper()
	c := &catalogue{env: setup(t), cats: map[string]string{}, parent: map[string]string{}, viewer: newPerson()}
	for _, n := range catalogueTree {
		var parent *string
		if n.parent != "" {
			parent = new(c.cats[n.parent])
		} else {
			c.roots = append(c.roots, n.slug)
		}
		c.cats[n.slug] = c.categoryNamed(n.slug, n.name, parent)
		c.parent[n.slug] = n.parent
	}
	c.sellers = []person{newPerson(identity.RoleSeller), newPerson(identity.RoleSeller), newPerson(identity.RoleSeller)}

	items := slices.Clone(catalogueItems)
	leaves := []string{"audio", "phones", "computers", "kitchen", "garden", "fiction", "toys", "books"}
	prices := []int{500, 999, 1000, 2499, 2500, 4999, 5000, 9999, 10000, 24999, 25000, 30000, 750, 1200, 3300, 7000, 15000}
	conditions := []string{"NEW", "USED", "LIKE_NEW", "REFURBISHED"}
	colours := []string{"blue", "red", "green", "black", "white"}
	ratings := map[int][]int{12: {2, 3}, 15: {5, 4, 4}, 20: {3, 4}, 25: {1}, 31: {4, 5}}
	favs := map[int]int{14: 2, 22: 3, 30: 1}
	for i := len(items); i < 41; i++ {
		items = append(items, item{
			title: fmt.Sprintf("Widget number %d", i), description: "A filler of the catalogue.", category: leaves[i%len(leaves)],
			seller: i % 3, price: prices[i%len(prices)], condition: conditions[i%len(conditions)], stock: map[bool]int{true: 0, false: 2}[i%7 == 0],
			attrs: []string{"colour", colours[i%len(colours)]}, ratings: ratings[i], favs: favs[i],
		})
	}
	// One word in a title, an attribute and a description only.
	items = append(items,
		item{title: "Serving tray", description: "Oiled by hand.", category: "kitchen", seller: 2, price: 2200, condition: "NEW", stock: 4,
			attrs: []string{"wood", "walnut"}},
		item{title: "Walnut stool", description: "Three legs.", category: "kitchen", seller: 1, price: 6100, condition: "USED", stock: 1},
		item{title: "Dining chair", description: "Legs of solid walnut, a woven seat.", category: "garden", seller: 0, price: 8100, condition: "LIKE_NEW", stock: 2},
	)
	for i := range items {
		it := &items[i]
		it.id = c.product(c.sellers[it.seller], c.cats[it.category], it.title, it.price, withDescription(it.description),
			withCondition(it.condition), withStock(it.stock), withAttrs(it.attrs...))
	}
	// Reviews and favourites, by a crowd.
	crowd := []person{c.viewer, newPerson(), newPerson(), newPerson(), newPerson(), newPerson()}
	for _, it := range items {
		for j, r := range it.ratings {
			c.review(crowd[j+1], it.id, r)
		}
		for j := range it.favs {
			c.favorite(crowd[j], it.id)
		}
	}
	c.items = items

	// Hidden: none of these may ever show.
	headphones := func(in map[string]any) { in["attributes"] = []any{vars{"name": "colour", "value": "black"}} }
	c.hidden = append(c.hidden, c.product(c.sellers[0], c.cats["audio"], "Draft headphones prototype", 8000, withStatus("DRAFT"), headphones))
	archived := c.product(c.sellers[1], c.cats["audio"], "Archived headphones", 8000, headphones)
	c.Do(c.as(c.sellers[1]), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": archived}).NoErrors(t)
	deleted := c.product(c.sellers[2], c.cats["audio"], "Deleted headphones", 8000, headphones)
	c.Do(c.as(c.sellers[2]), `mutation($id: ID!) { deleteProduct(id: $id) }`, vars{"id": deleted}).NoErrors(t)
	c.hidden = append(c.hidden, archived, deleted)
	return c
}

// titles maps product ids to their titles (readable failures).
func (c *catalogue) titles(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		i := slices.IndexFunc(c.items, func(it item) bool { return it.id == id })
		if i < 0 {
			out = append(out, "unknown "+id)
			continue
		}
		out = append(out, c.items[i].title)
	}
	return out
}

// under reports whether category slug is top or below it.
func (c *catalogue) under(slug, top string) bool {
	for ; slug != ""; slug = c.parent[slug] {
		if slug == top {
			return true
		}
	}
	return false
}

// where returns the ids of the items matching keep, in creation order.
func (c *catalogue) where(keep func(item) bool) []string {
	out := []string{}
	for _, it := range c.items {
		if keep(it) {
			out = append(out, it.id)
		}
	}
	return out
}

// byTitle returns an item's id.
func (c *catalogue) byTitle(title string) string {
	for _, it := range c.items {
		if it.title == title {
			return it.id
		}
	}
	c.T.Fatalf("no item %q", title)
	return ""
}

const searchQuery = `query($f: ProductFilter, $s: ProductSort, $n: Int, $a: String) {
	products(filter: $f, sort: $s, first: $n, after: $a) {
		edges { cursor node { id } }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
	}
}`

// search returns the ids of the first page (up to 100) of a search.
func (c *catalogue) search(filter vars, sort string) []string {
	c.T.Helper()
	v := vars{"f": filter, "n": 100}
	if sort != "" {
		v["s"] = sort
	}
	r := c.Do(c.as(c.viewer), searchQuery, v).NoErrors(c.T)
	require.Equal(c.T, false, field(r.Data, "products", "pageInfo", "hasNextPage"))
	return ids(r.Data["products"])
}

// walk pages through a search n at a time and returns every id in order.
func (c *catalogue) walk(filter vars, sort string, n int) []string {
	c.T.Helper()
	var out []string
	var after any
	for page := 0; ; page++ {
		require.Less(c.T, page, 100, "paging does not end")
		r := c.Do(c.as(c.viewer), searchQuery, vars{"f": filter, "s": sort, "n": n, "a": after}).NoErrors(c.T)
		conn := r.Data["products"]
		got := ids(conn)
		out = append(out, got...)
		require.Equal(c.T, page > 0, field(conn, "pageInfo", "hasPreviousPage"))
		if field(conn, "pageInfo", "hasNextPage") == false {
			require.LessOrEqual(c.T, len(got), n)
			return out
		}
		require.Len(c.T, got, n, "a page that is not the last is full")
		after = field(conn, "pageInfo", "endCursor")
		edges := field(conn, "edges").([]any)
		require.Equal(c.T, after, field(edges[len(edges)-1], "cursor"))
	}
}

// ordered sorts the listed items by key, descending, then by id, descending
// (the search's order).
func (c *catalogue) ordered(key func(item) float64) []string {
	items := slices.Clone(c.items)
	slices.SortFunc(items, func(a, b item) int {
		if k := cmp.Compare(key(b), key(a)); k != 0 {
			return k
		}
		return strings.Compare(b.id, a.id)
	})
	out := []string{}
	for _, it := range items {
		out = append(out, it.id)
	}
	return out
}

func newestFirst(c *catalogue) []string {
	out := slices.Clone(c.where(func(item) bool { return true }))
	slices.Reverse(out)
	return out
}

func TestSearch(t *testing.T) {
	t.Parallel()
	c := seedCatalogue(t)
	all := c.where(func(item) bool { return true })
	require.Len(t, all, 44)
	id := c.byTitle

	t.Run("full text", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			search string
			want   []string
		}{
			{"headphones", []string{id("Wireless headphones with noise cancelling"), id("Studio headphones")}},
			{"HEADPHONES", []string{id("Wireless headphones with noise cancelling"), id("Studio headphones")}},
			{"wireless headphones", []string{id("Wireless headphones with noise cancelling")}},
			{"lisbon", []string{id("Desk lamp")}},                                // the description
			{"sonic", []string{id("Wireless headphones with noise cancelling")}}, // an attribute value
			{"oak", []string{id("Oak garden bench"), id("Wooden toy train")}},    // title and attribute
			{"turner", []string{id("Paperback thriller novel")}},                 // description
			{"bamboo", []string{id("Bamboo cutting board"), id("Bluetooth speaker"), id("Chef knife")}},
			// Typos.
			{"hedphones", []string{id("Wireless headphones with noise cancelling"), id("Studio headphones")}},
			{"wireles hedphones", []string{id("Wireless headphones with noise cancelling")}},
			{"smartphnoe", []string{id("Smartphone with a big screen")}},
			{"bambo", []string{id("Bamboo cutting board"), id("Bluetooth speaker")}},
			{"xylophone", []string{}},
		} {
			got := c.search(vars{"search": tc.search}, "")
			require.ElementsMatch(t, c.titles(tc.want), c.titles(got), "search %q", tc.search)
			for _, h := range c.hidden {
				require.NotContains(t, got, h)
			}
		}
	})

	t.Run("relevance puts title matches first", func(t *testing.T) {
		t.Parallel()
		// bamboo: in a title (and an attribute), in an attribute, in a description.
		require.Equal(t, []string{"Bamboo cutting board", "Bluetooth speaker", "Chef knife"},
			c.titles(c.search(vars{"search": "bamboo"}, "RELEVANCE")))
		require.Equal(t, []string{"Bamboo cutting board", "Bluetooth speaker", "Chef knife"},
			c.titles(c.search(vars{"search": "bamboo"}, "")), "RELEVANCE is the default")
		require.Equal(t, []string{"Oak garden bench", "Wooden toy train"}, c.titles(c.search(vars{"search": "oak"}, "RELEVANCE")))
		require.Equal(t, []string{"Walnut stool", "Serving tray", "Dining chair"}, c.titles(c.search(vars{"search": "walnut"}, "RELEVANCE")),
			"title, then attribute, then description")
		// Without a search, RELEVANCE is NEWEST.
		require.Equal(t, c.titles(newestFirst(c)), c.titles(c.search(nil, "RELEVANCE")))
		require.Equal(t, c.titles(newestFirst(c)), c.titles(c.search(nil, "")))
		// Other sorts order the matches.
		require.Equal(t, []string{"Bluetooth speaker", "Chef knife", "Bamboo cutting board"},
			c.titles(c.search(vars{"search": "bamboo"}, "PRICE_DESC")))
	})

	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			filter vars
			keep   func(item) bool
		}{
			{"category and below", vars{"categoryId": c.cats["electronics"]}, func(it item) bool { return c.under(it.category, "electronics") }},
			{"category with own products", vars{"categoryId": c.cats["home"]}, func(it item) bool { return c.under(it.category, "home") }},
			{"leaf category", vars{"categoryId": c.cats["audio"]}, func(it item) bool { return it.category == "audio" }},
			{"seller", vars{"sellerId": c.sellers[1].ID}, func(it item) bool { return it.seller == 1 }},
			{"price range, inclusive", vars{"minPriceCents": 2500, "maxPriceCents": 9999}, func(it item) bool { return it.price >= 2500 && it.price <= 9999 }},
			{"min price", vars{"minPriceCents": 25000}, func(it item) bool { return it.price >= 25000 }},
			{"max price", vars{"maxPriceCents": 999}, func(it item) bool { return it.price <= 999 }},
			{"min rating 4", vars{"minRating": 4}, func(it item) bool { return len(it.ratings) > 0 && it.rating() >= 4 }},
			{"min rating 4.5", vars{"minRating": 4.5}, func(it item) bool { return len(it.ratings) > 0 && it.rating() >= 4.5 }},
			{"min rating 1", vars{"minRating": 1}, func(it item) bool { return len(it.ratings) > 0 }},
			{"in stock", vars{"inStock": true}, func(it item) bool { return it.stock > 0 }},
			{"out of stock", vars{"inStock": false}, func(it item) bool { return it.stock == 0 }},
			{"condition", vars{"condition": "USED"}, func(it item) bool { return it.condition == "USED" }},
			{"one attribute, two values: either", vars{"attributes": []any{vars{"name": "colour", "values": []any{"blue", "red"}}}},
				func(it item) bool { return it.attr("colour") == "blue" || it.attr("colour") == "red" }},
			{"attribute names ignore case", vars{"attributes": []any{vars{"name": " Colour", "values": []any{"green"}}}},
				func(it item) bool { return it.attr("colour") == "green" }},
			{"two attributes: both", vars{"attributes": []any{
				vars{"name": "colour", "values": []any{"green", "red", "brown"}},
				vars{"name": "material", "values": []any{"bamboo", "oak"}},
			}}, func(it item) bool {
				return slices.Contains([]string{"green", "red", "brown"}, it.attr("colour")) && slices.Contains([]string{"bamboo", "oak"}, it.attr("material"))
			}},
			{"everything at once", vars{"categoryId": c.cats["electronics"], "inStock": true, "minPriceCents": 1000, "condition": "NEW"}, func(it item) bool {
				return c.under(it.category, "electronics") && it.stock > 0 && it.price >= 1000 && it.condition == "NEW"
			}},
			{"search and category", vars{"search": "headphones", "categoryId": c.cats["phones"]}, func(item) bool { return false }},
			{"search and seller", vars{"search": "headphones", "sellerId": c.sellers[1].ID}, func(it item) bool { return it.title == "Studio headphones" }},
		} {
			want := c.where(tc.keep)
			require.True(t, len(want) > 0 || tc.name == "search and category", "%s: a filter that matches nothing proves little", tc.name)
			require.Less(t, len(want), len(c.items), "%s: a filter that matches everything proves little", tc.name)
			require.ElementsMatch(t, c.titles(want), c.titles(c.search(tc.filter, "NEWEST")), tc.name)
			r := c.Do(c.Anonymous(), `query($f: ProductFilter) { products(filter: $f) { facets { total } } }`, vars{"f": tc.filter}).NoErrors(t)
			require.EqualValues(t, len(want), field(r.Data, "products", "facets", "total"), tc.name)
		}
	})

	t.Run("sorts", func(t *testing.T) {
		t.Parallel()
		price := func(it item) float64 { return float64(it.price) }
		require.Equal(t, c.titles(newestFirst(c)), c.titles(c.search(nil, "NEWEST")))
		require.Equal(t, c.titles(c.ordered(func(it item) float64 { return -price(it) })), c.titles(c.search(nil, "PRICE_ASC")))
		require.Equal(t, c.titles(c.ordered(price)), c.titles(c.search(nil, "PRICE_DESC")))
		require.Equal(t, c.titles(c.ordered(func(it item) float64 { return math.Round(it.rating()*1e6) / 1e6 })), c.titles(c.search(nil, "RATING")))
		require.Equal(t, c.titles(c.ordered(func(it item) float64 { return float64(it.favs) })), c.titles(c.search(nil, "POPULARITY")))

		// Spot checks of the model itself.
		byRating := c.search(nil, "RATING")
		require.Equal(t, id("Bluetooth speaker"), byRating[0], "5.0 from three reviews")
		unrated := len(c.where(func(it item) bool { return len(it.ratings) == 0 }))
		for _, got := range byRating[len(byRating)-unrated:] {
			require.Empty(t, c.items[slices.IndexFunc(c.items, func(it item) bool { return it.id == got })].ratings, "unrated last")
		}
		require.Equal(t, id("Smartphone with a big screen"), c.search(nil, "POPULARITY")[0])
		require.Equal(t, id("Gaming laptop"), c.search(nil, "PRICE_DESC")[0])
	})

	t.Run("keyset paging walks every result once", func(t *testing.T) {
		t.Parallel()
		for _, sort := range []string{"NEWEST", "PRICE_ASC", "PRICE_DESC", "RATING", "POPULARITY", "RELEVANCE"} {
			require.Equal(t, c.search(nil, sort), c.walk(nil, sort, 7), sort)
		}
		filter := vars{"search": "widget", "inStock": true}
		walked := c.walk(filter, "RELEVANCE", 7)
		require.Equal(t, c.search(filter, "RELEVANCE"), walked)
		require.Len(t, walked, len(c.where(func(it item) bool { return strings.HasPrefix(it.title, "Widget") && it.stock > 0 })))
		walked = c.walk(filter, "PRICE_ASC", 3)
		require.Equal(t, c.search(filter, "PRICE_ASC"), walked)
	})

	t.Run("facets", func(t *testing.T) {
		t.Parallel()
		const facetQuery = `query($f: ProductFilter) { products(filter: $f, first: 1) {
			facets { total categories { category { slug } count } prices { minPriceCents maxPriceCents count } } } }`
		facets := func(f vars) (int, map[string]int, [][3]any) {
			t.Helper()
			r := c.Do(c.Anonymous(), facetQuery, vars{"f": f}).NoErrors(t)
			fc := field(r.Data, "products", "facets")
			cats := map[string]int{}
			for _, x := range field(fc, "categories").([]any) {
				cats[str(x, "category", "slug")] = int(field(x, "count").(float64))
			}
			var prices [][3]any
			for _, x := range field(fc, "prices").([]any) {
				p := x.(map[string]any)
				prices = append(prices, [3]any{p["minPriceCents"], p["maxPriceCents"], p["count"]})
			}
			return int(field(fc, "total").(float64)), cats, prices
		}
		bounds := []float64{0, 1000, 2500, 5000, 10000, 25000}
		wantPrices := func(keep func(item) bool) [][3]any {
			var out [][3]any
			for i, lo := range bounds {
				var hi any
				if i+1 < len(bounds) {
					hi = bounds[i+1]
				}
				n := len(c.where(func(it item) bool {
					return keep(it) && float64(it.price) >= lo && (hi == nil || float64(it.price) < hi.(float64))
				}))
				out = append(out, [3]any{lo, hi, float64(n)})
			}
			return out
		}
		wantCats := func(tops []string, keep func(item) bool) map[string]int {
			out := map[string]int{}
			for _, top := range tops {
				if n := len(c.where(func(it item) bool { return keep(it) && c.under(it.category, top) })); n > 0 {
					out[top] = n
				}
			}
			return out
		}
		everything := func(item) bool { return true }

		// No filter: every listed product, by top-level category.
		total, cats, prices := facets(nil)
		require.Equal(t, len(c.items), total)
		require.Equal(t, wantCats(c.roots, everything), cats)
		sum := 0
		for _, n := range cats {
			sum += n
		}
		require.Equal(t, total, sum, "top-level counts add up to the total")
		require.Equal(t, wantPrices(everything), prices)
		require.Equal(t, map[string]int{"electronics": 15, "home": 15, "books": 9, "toys": 5}, cats, "the model itself")

		// A category filter: its children; its own products count in the total.
		total, cats, _ = facets(vars{"categoryId": c.cats["home"]})
		inHome := func(it item) bool { return c.under(it.category, "home") }
		require.Equal(t, len(c.where(inHome)), total)
		require.Equal(t, wantCats([]string{"kitchen", "garden"}, inHome), cats)
		require.Equal(t, total-1, cats["kitchen"]+cats["garden"], "the desk lamp is in home itself")
		total, cats, _ = facets(vars{"categoryId": c.cats["electronics"]})
		require.Equal(t, cats["audio"]+cats["phones"]+cats["computers"], total)
		require.Len(t, cats, 3)
		total, cats, _ = facets(vars{"categoryId": c.cats["audio"]})
		require.Equal(t, len(c.where(func(it item) bool { return it.category == "audio" })), total)
		require.Empty(t, cats, "a leaf has no children to count")

		// A price filter narrows the total and the categories, not the price facet.
		inRange := func(it item) bool { return it.price >= 2500 && it.price <= 9999 }
		total, cats, prices = facets(vars{"minPriceCents": 2500, "maxPriceCents": 9999})
		require.Equal(t, len(c.where(inRange)), total)
		require.Equal(t, wantCats(c.roots, inRange), cats)
		require.Equal(t, wantPrices(everything), prices, "price buckets ignore the price filter")

		// With other filters, the price facet follows them.
		inStock := func(it item) bool { return it.stock > 0 }
		_, _, prices = facets(vars{"inStock": true, "maxPriceCents": 1000})
		require.Equal(t, wantPrices(inStock), prices)

		// A search: its matches.
		total, cats, prices = facets(vars{"search": "headphones"})
		require.Equal(t, 2, total, "hidden headphones are not counted")
		require.Equal(t, map[string]int{"electronics": 2}, cats)
		require.Equal(t, [][3]any{{0.0, 1000.0, 0.0}, {1000.0, 2500.0, 0.0}, {2500.0, 5000.0, 0.0}, {5000.0, 10000.0, 1.0}, {10000.0, 25000.0, 1.0}, {25000.0, nil, 0.0}}, prices)

		// The total is what paging walks.
		for _, f := range []vars{{"search": "widget"}, {"attributes": []any{vars{"name": "colour", "values": []any{"black"}}}}, {"minRating": 3}} {
			total, _, _ := facets(f)
			require.Len(t, c.walk(f, "NEWEST", 7), total, "%v", f)
		}
	})

	t.Run("hidden products never show", func(t *testing.T) {
		t.Parallel()
		for _, f := range []vars{nil, {"search": "headphones"}, {"search": "prototype"}, {"categoryId": c.cats["audio"]},
			{"sellerId": c.sellers[0].ID}, {"attributes": []any{vars{"name": "colour", "values": []any{"black"}}}}, {"maxPriceCents": 8000, "minPriceCents": 8000}} {
			got := c.search(f, "NEWEST")
			for _, h := range c.hidden {
				require.NotContains(t, got, h, "%v", f)
			}
		}
		r := c.Do(c.as(staff), `{ products(filter: {search: "headphones"}) { edges { node { id } } facets { total } } }`, nil).NoErrors(t)
		require.Len(t, ids(r.Data["products"]), 2, "not even for STAFF")
		require.EqualValues(t, 2, field(r.Data, "products", "facets", "total"))
		r = c.Do(c.as(c.sellers[0]), `{ products(filter: {search: "prototype"}) { edges { node { id } } } }`, nil).NoErrors(t)
		require.Empty(t, ids(r.Data["products"]), "nor for their seller")
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			v     vars
			field string
		}{
			{vars{"f": vars{"search": strings.Repeat("x", 201)}}, "search"},
			{vars{"f": vars{"minRating": 0.5}}, "minRating"},
			{vars{"f": vars{"minRating": 5.5}}, "minRating"},
			{vars{"f": vars{"categoryId": "electronics"}}, "categoryId"},
			{vars{"f": vars{"sellerId": "bob"}}, "sellerId"},
			{vars{"f": vars{"attributes": []any{vars{"name": "colour", "values": []any{}}}}}, "attributes"},
			{vars{"n": 0}, "first"},
			{vars{"n": 101}, "first"},
			{vars{"a": "not a cursor"}, "after"},
		} {
			r := c.Do(c.Anonymous(), searchQuery, tc.v)
			require.Equal(t, "BAD_USER_INPUT", r.Code(t), "%v", tc.v)
			require.Equal(t, tc.field, r.Field(t), "%v", tc.v)
		}
	})
}

// Keyset paging does not shift when products are added while a client pages.
func TestSearchPagingIsStableUnderInserts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := &catalogue{env: e, viewer: newPerson()}
	seller := newPerson(identity.RoleSeller)
	cat := e.category("things", nil)
	var before []string
	for i := range 20 {
		before = append(before, e.product(seller, cat, fmt.Sprintf("Lantern model %d", i), 1000+100*i))
	}

	page := func(sort string, after any) ([]string, any) {
		r := e.Do(e.Anonymous(), searchQuery, vars{"s": sort, "n": 7, "a": after}).NoErrors(t)
		return ids(r.Data["products"]), field(r.Data, "products", "pageInfo", "endCursor")
	}

	// NEWEST: a product added after the first page is newer than every row
	// left: the rest of the walk neither repeats nor skips.
	first, cur := page("NEWEST", nil)
	e.product(seller, cat, "Lantern latecomer", 1500)
	second, cur := page("NEWEST", cur)
	e.product(seller, cat, "Lantern later still", 1500)
	third, _ := page("NEWEST", cur)
	got := slices.Concat(first, second, third)
	want := slices.Clone(before)
	slices.Reverse(want)
	require.Equal(t, want, got)

	// PRICE_ASC: one added below the cursor is not seen, one above once.
	first, cur = page("PRICE_ASC", nil) // 1000 .. 1600, then the 1500 ones
	require.Len(t, first, 7)
	cheap := e.product(seller, cat, "Lantern bargain", 1050)
	dear := e.product(seller, cat, "Lantern deluxe", 2950)
	var rest []string
	for cur != nil {
		var ids []string
		ids, cur = page("PRICE_ASC", cur)
		rest = append(rest, ids...)
	}
	walked := slices.Concat(first, rest)
	require.NotContains(t, walked, cheap)
	require.Equal(t, 1, countOf(walked, dear))
	for _, id := range before {
		require.Equal(t, 1, countOf(walked, id), "each original product exactly once")
	}
	require.Len(t, walked, len(before)+2+1) // the two late NEWEST ones and the dear one
	_ = c
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// A page of products costs the same few statements whatever its size:
// category, parent, favourite flag and reviews are batched.
// Not parallel: batches form within a short wait (see fewest).
func TestSearchPageIsNotNPlusOne(t *testing.T) {
	e := setup(t)
	seller, viewer := newPerson(identity.RoleSeller), newPerson()
	top := e.category("top", nil)
	var cats []string
	for i := range 4 {
		cats = append(cats, e.category(fmt.Sprintf("sub-%d", i), &top))
	}
	critics := []person{newPerson(), newPerson(), newPerson()}
	for i := range 22 {
		id := e.product(seller, cats[i%len(cats)], fmt.Sprintf("Teapot number %d", i), 1000+i)
		for j := range i % 4 {
			e.review(critics[j], id, 1+(i+j)%5)
		}
		if i%3 == 0 {
			e.favorite(viewer, id)
		}
	}
	q := `query($n: Int) { products(sort: PRICE_ASC, first: $n) { edges { node {
		id category { name parent { name } } isFavorite reviews(first: 2) { edges { node { rating } } } seller { id }
	} } } }`
	check := func(n int) {
		r := e.Do(e.as(viewer), q, vars{"n": n}).NoErrors(t)
		got := nodes(r.Data["products"])
		require.Len(t, got, n)
		// The answer is right, not only cheap.
		favs, reviews := 0, 0
		for _, p := range got {
			require.Equal(t, "Category top", str(p, "category", "parent", "name"))
			if p["isFavorite"] == true {
				favs++
			}
			reviews += len(nodes(p["reviews"]))
		}
		require.Positive(t, favs)
		require.Positive(t, reviews)
	}
	five, twenty := e.fewest(func() { check(5) }), e.fewest(func() { check(20) })
	t.Logf("statements: %d for 5, %d for 20", five, twenty)
	require.Equal(t, five, twenty, "the statements do not grow with the page")
	require.LessOrEqual(t, twenty, int64(5), "search, tree, favourites, reviews")
}
