package marketplace_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

const productFields = `id slug title description priceCents currency stock condition status attributes { name value }
	rating reviewCount ratingDistribution favoriteCount isFavorite seller { id } category { id } createdAt updatedAt`

func TestCreateProduct(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	cat := e.category("things", nil)

	minimal := vars{"title": "  A plain thing  ", "description": "Nothing more.", "categoryId": cat, "priceCents": 1234}
	r := e.Do(e.as(seller), `mutation($in: CreateProductInput!) { createProduct(input: $in) { `+productFields+` } }`, vars{"in": minimal}).NoErrors(t)
	p := r.Data["createProduct"].(map[string]any)
	require.Equal(t, "A plain thing", p["title"], "trimmed")
	require.Equal(t, "DRAFT", p["status"], "a draft unless asked otherwise")
	require.Equal(t, "EUR", p["currency"])
	require.EqualValues(t, 1, p["stock"])
	require.Equal(t, "NEW", p["condition"])
	require.Equal(t, []any{}, p["attributes"])
	require.Nil(t, p["rating"])
	require.EqualValues(t, 0, p["reviewCount"])
	require.Equal(t, []any{0.0, 0.0, 0.0, 0.0, 0.0}, p["ratingDistribution"])
	require.EqualValues(t, 0, p["favoriteCount"])
	require.Equal(t, false, p["isFavorite"])
	require.Equal(t, seller.ID, str(p, "seller", "id"))
	require.Equal(t, cat, str(p, "category", "id"))
	created, err := time.Parse(time.RFC3339Nano, p["createdAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Minute)

	full := vars{"title": "Blue kettle", "description": "Boils water.", "categoryId": cat, "priceCents": 4999, "currency": "GBP",
		"stock": 7, "condition": "REFURBISHED", "status": "ACTIVE",
		"attributes": []any{vars{"name": " Colour ", "value": " blue "}, vars{"name": "Volume", "value": "1.7 l"}}}
	r = e.Do(e.as(seller), `mutation($in: CreateProductInput!) { createProduct(input: $in) { id `+productFields+` } }`, vars{"in": full}).NoErrors(t)
	p = r.Data["createProduct"].(map[string]any)
	require.Equal(t, "ACTIVE", p["status"])
	require.Equal(t, "GBP", p["currency"])
	require.EqualValues(t, 7, p["stock"])
	require.Equal(t, "REFURBISHED", p["condition"])
	require.Equal(t, []any{map[string]any{"name": "colour", "value": "blue"}, map[string]any{"name": "volume", "value": "1.7 l"}}, p["attributes"],
		"names lower-case, both trimmed, in the given order")
	// Read back as anyone.
	got := e.read(e.Anonymous(), p["id"].(string), productFields)
	delete(got, "isFavorite")
	delete(p, "isFavorite")
	require.Equal(t, p, got)

	// Listed without stock is sold out.
	r = e.Do(e.as(seller), createProduct, vars{"in": vars{"title": "Nothing left", "description": "", "categoryId": cat, "priceCents": 100, "stock": 0, "status": "ACTIVE"}}).NoErrors(t)
	require.Equal(t, "SOLD_OUT", str(r.Data, "createProduct", "status"))
}

func TestCreateProductNeedsASellerAndValidInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	cat := e.category("things", nil)

	in := vars{"in": vars{"title": "Some thing", "description": "", "categoryId": cat, "priceCents": 100}}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), createProduct, in).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(newPerson()), createProduct, in).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(staff), createProduct, in).Code(t), "STAFF edit products but do not sell")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(newPerson(identity.RoleFreelancer)), createProduct, in).Code(t))
	require.Zero(t, e.count(`SELECT count(*) FROM products`))

	attrs := func(n int) []any {
		out := []any{}
		for i := range n {
			out = append(out, vars{"name": "a" + strings.Repeat("x", i), "value": "v"})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		set   vars
		field string
	}{
		{"title too short", vars{"title": "abcd"}, "title"},
		{"title too short once trimmed", vars{"title": "  abcd    "}, "title"},
		{"title too long", vars{"title": strings.Repeat("t", 121)}, "title"},
		{"description too long", vars{"description": strings.Repeat("d", 10001)}, "description"},
		{"price zero", vars{"priceCents": 0}, "priceCents"},
		{"price negative", vars{"priceCents": -5}, "priceCents"},
		{"price too high", vars{"priceCents": 100_000_001}, "priceCents"},
		{"currency lower-case", vars{"currency": "eur"}, "currency"},
		{"currency too long", vars{"currency": "EURO"}, "currency"},
		{"currency empty", vars{"currency": ""}, "currency"},
		{"stock negative", vars{"stock": -1}, "stock"},
		{"too many attributes", vars{"attributes": attrs(21)}, "attributes"},
		{"attribute names repeat", vars{"attributes": []any{vars{"name": "Colour", "value": "red"}, vars{"name": "colour ", "value": "blue"}}}, "attributes"},
		{"attribute name empty", vars{"attributes": []any{vars{"name": " ", "value": "red"}}}, "attributes"},
		{"attribute name too long", vars{"attributes": []any{vars{"name": strings.Repeat("n", 41), "value": "red"}}}, "attributes"},
		{"attribute value empty", vars{"attributes": []any{vars{"name": "colour", "value": ""}}}, "attributes"},
		{"attribute value too long", vars{"attributes": []any{vars{"name": "colour", "value": strings.Repeat("v", 101)}}}, "attributes"},
		{"unknown category", vars{"categoryId": "00000000-0000-0000-0000-000000000001"}, "categoryId"},
		{"malformed category", vars{"categoryId": "things"}, "categoryId"},
		{"sold out by hand", vars{"status": "SOLD_OUT"}, "status"},
		{"archived at once", vars{"status": "ARCHIVED"}, "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := vars{"title": "Valid title", "description": "", "categoryId": cat, "priceCents": 100}
			for k, v := range tc.set {
				in[k] = v
			}
			r := e.Do(e.as(seller), createProduct, vars{"in": in})
			require.Equal(t, "BAD_USER_INPUT", r.Code(t))
			require.Equal(t, tc.field, r.Field(t))
		})
	}
	require.Zero(t, e.count(`SELECT count(*) FROM products`))

	// The limits themselves are fine.
	e.product(seller, cat, strings.Repeat("t", 120), 100_000_000, withAttrs(func() []string {
		var pairs []string
		for i := range 20 {
			pairs = append(pairs, strings.Repeat("n", 40-i), strings.Repeat("v", 100))
		}
		return pairs
	}()...), withDescription(strings.Repeat("d", 10000)))
	e.product(seller, cat, "Tiny", 1, func(in map[string]any) { in["title"] = "Tiny!" })
}

// sellerProducts reads User.products of seller as c: the ids, newest first.
func (e *env) sellerProducts(c person, seller person) []string {
	e.T.Helper()
	r := e.user(e.as(c), seller.ID, `products(first: 50) { edges { node { id } } }`).NoErrors(e.T)
	return ids(field(r.Data["_entities"].([]any)[0], "products"))
}

func TestDraftsAndArchivedAreSeenBySellerAndStaffOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, rival, buyer := newPerson(identity.RoleSeller), newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	listed := e.product(seller, cat, "Listed lamp", 2000)
	soldOut := e.product(seller, cat, "Sold out lamp", 2000, withStock(0))
	draft := e.product(seller, cat, "Draft lamp", 2000, withStatus("DRAFT"))
	archived := e.product(seller, cat, "Archived lamp", 2000)
	r := e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": archived}).NoErrors(t)
	require.Equal(t, "ARCHIVED", str(r.Data, "setProductStatus", "status"))
	slugOf := func(id string) string { return str(e.read(e.as(seller), id, "slug"), "slug") }

	for _, hidden := range []string{draft, archived} {
		for _, c := range []person{rival, buyer} {
			require.Nil(t, e.read(e.as(c), hidden, "id"))
			r := e.Do(e.as(c), `query($s: String!) { product(slug: $s) { id } }`, vars{"s": slugOf(hidden)}).NoErrors(t)
			require.Nil(t, r.Data["product"])
		}
		require.Nil(t, e.read(e.Anonymous(), hidden, "id"))
		require.Equal(t, hidden, str(e.read(e.as(seller), hidden, "id"), "id"))
		require.Equal(t, hidden, str(e.read(e.as(staff), hidden, "id"), "id"))
		r := e.Do(e.as(staff), `query($s: String!) { product(slug: $s) { id } }`, vars{"s": slugOf(hidden)}).NoErrors(t)
		require.Equal(t, hidden, str(r.Data, "product", "id"))
	}
	require.Equal(t, "SOLD_OUT", str(e.read(e.as(buyer), soldOut, "status"), "status"), "sold out is still listed")

	// User.products: newest first; drafts and archived ones for the seller and STAFF.
	all := []string{archived, draft, soldOut, listed}
	require.Equal(t, all, e.sellerProducts(seller, seller))
	require.Equal(t, all, e.sellerProducts(staff, seller))
	require.Equal(t, []string{soldOut, listed}, e.sellerProducts(buyer, seller))
	require.Equal(t, []string{soldOut, listed}, e.sellerProducts(rival, seller))
	r = e.user(e.Anonymous(), seller.ID, `products { edges { node { id } } }`).NoErrors(t)
	require.Equal(t, []string{soldOut, listed}, ids(field(r.Data["_entities"].([]any)[0], "products")))
	require.Empty(t, e.sellerProducts(seller, rival))

	// Paging.
	q := `products(first: 3) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } }`
	r = e.user(e.as(seller), seller.ID, q).NoErrors(t)
	conn := field(r.Data["_entities"].([]any)[0], "products")
	require.Equal(t, all[:3], ids(conn))
	require.Equal(t, true, field(conn, "pageInfo", "hasNextPage"))
	require.Equal(t, false, field(conn, "pageInfo", "hasPreviousPage"))
	r = e.user(e.as(seller), seller.ID, `products(first: 3, after: "`+str(conn, "pageInfo", "endCursor")+`") { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } }`).NoErrors(t)
	conn = field(r.Data["_entities"].([]any)[0], "products")
	require.Equal(t, all[3:], ids(conn))
	require.Equal(t, false, field(conn, "pageInfo", "hasNextPage"))
	require.Equal(t, true, field(conn, "pageInfo", "hasPreviousPage"))

	r = e.user(e.as(seller), seller.ID, `products(first: 0) { edges { node { id } } }`)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "first", r.Field(t))
	r = e.user(e.as(seller), seller.ID, `products(after: "garbage") { edges { node { id } } }`)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "after", r.Field(t))

	// Hidden ones are not searchable.
	r = e.Do(e.as(seller), `{ products(first: 50) { edges { node { id } } facets { total } } }`, nil).NoErrors(t)
	require.ElementsMatch(t, []string{listed, soldOut}, ids(r.Data["products"]))
	require.EqualValues(t, 2, field(r.Data, "products", "facets", "total"))

	// Listing a draft shows it to everyone.
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ACTIVE) { status } }`, vars{"id": draft}).NoErrors(t)
	require.Equal(t, draft, str(e.read(e.as(buyer), draft, "id"), "id"))
}

func TestUpdateProductBySellerOrStaff(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, rival := newPerson(identity.RoleSeller), newPerson(identity.RoleSeller)
	cat := e.category("things", nil)
	other := e.category("other-things", nil)
	id := e.product(seller, cat, "Old title", 5000, withAttrs("colour", "red", "size", "M"))
	before := e.read(e.as(seller), id, "updatedAt")

	r := e.Do(e.as(seller), `mutation($id: ID!, $in: UpdateProductInput!) { updateProduct(id: $id, input: $in) { `+productFields+` } }`,
		vars{"id": id, "in": vars{"title": " New title ", "description": "Now described.", "categoryId": other, "priceCents": 4500, "stock": 9, "condition": "USED",
			"attributes": []any{vars{"name": "Colour", "value": "green"}}}}).NoErrors(t)
	p := r.Data["updateProduct"].(map[string]any)
	require.Equal(t, "New title", p["title"])
	require.Equal(t, "Now described.", p["description"])
	require.Equal(t, other, str(p, "category", "id"))
	require.EqualValues(t, 4500, p["priceCents"])
	require.EqualValues(t, 9, p["stock"])
	require.Equal(t, "USED", p["condition"])
	require.Equal(t, []any{map[string]any{"name": "colour", "value": "green"}}, p["attributes"])
	require.Greater(t, p["updatedAt"], before["updatedAt"])
	got := e.read(e.Anonymous(), id, productFields)
	delete(got, "isFavorite")
	delete(p, "isFavorite")
	require.Equal(t, p, got)

	// Absent fields keep their value; an empty list clears the attributes.
	p = e.update(seller, id, vars{"stock": 4})
	require.Equal(t, "New title", p["title"])
	require.EqualValues(t, 4500, p["priceCents"])
	require.Len(t, e.read(e.as(seller), id, "attributes { name }")["attributes"], 1)
	e.update(seller, id, vars{"attributes": []any{}})
	require.Equal(t, []any{}, e.read(e.as(seller), id, "attributes { name }")["attributes"])

	// STAFF may; another seller and other users may not.
	require.Equal(t, "By staff", e.update(staff, id, vars{"title": "By staff"})["title"])
	r = e.Do(e.as(rival), updateProduct, vars{"id": id, "in": vars{"title": "Hijacked"}})
	require.Equal(t, "FORBIDDEN", r.Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(newPerson()), updateProduct, vars{"id": id, "in": vars{"title": "Hijacked"}}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), updateProduct, vars{"id": id, "in": vars{"title": "Hijacked"}}).Code(t))
	require.Equal(t, "By staff", str(e.read(e.Anonymous(), id, "title"), "title"))

	// Another's draft does not exist for them.
	draft := e.product(seller, cat, "Secret draft", 5000, withStatus("DRAFT"))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(rival), updateProduct, vars{"id": draft, "in": vars{"title": "Hijacked"}}).Code(t))
	require.Equal(t, "Staff on a draft", e.update(staff, draft, vars{"title": "Staff on a draft"})["title"])
	require.Equal(t, "NOT_FOUND", e.Do(e.as(seller), updateProduct, vars{"id": "00000000-0000-0000-0000-000000000001", "in": vars{"title": "Nothing"}}).Code(t))

	// Validation names the field.
	for _, tc := range []struct {
		in    vars
		field string
	}{
		{vars{"title": "abc"}, "title"},
		{vars{"priceCents": 0}, "priceCents"},
		{vars{"priceCents": 100_000_001}, "priceCents"},
		{vars{"stock": -2}, "stock"},
		{vars{"categoryId": "00000000-0000-0000-0000-000000000001"}, "categoryId"},
		{vars{"categoryId": "nope"}, "categoryId"},
		{vars{"attributes": []any{vars{"name": "a", "value": "1"}, vars{"name": "A", "value": "2"}}}, "attributes"},
	} {
		r := e.Do(e.as(seller), updateProduct, vars{"id": id, "in": tc.in})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t), "%v", tc.in)
		require.Equal(t, tc.field, r.Field(t), "%v", tc.in)
	}
	require.Equal(t, "By staff", str(e.read(e.Anonymous(), id, "title"), "title"))
}

func TestStockDecidesSoldOut(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, buyer := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Limited lamp", 2000, withStock(2))
	setStatus := `mutation($id: ID!, $s: ProductStatus!) { setProductStatus(id: $id, status: $s) { status stock } }`

	require.Equal(t, "SOLD_OUT", e.update(seller, id, vars{"stock": 0})["status"])
	require.Equal(t, "SOLD_OUT", str(e.read(e.as(buyer), id, "status"), "status"))
	r := e.Do(e.as(seller), setStatus, vars{"id": id, "s": "ACTIVE"})
	require.Equal(t, "CONFLICT", r.Code(t), "no stock, no listing")
	require.Equal(t, "ACTIVE", e.update(seller, id, vars{"stock": 5})["status"], "stock lists it again")

	r = e.Do(e.as(seller), setStatus, vars{"id": id, "s": "SOLD_OUT"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "status", r.Field(t))
	require.Equal(t, "ACTIVE", str(e.read(e.as(buyer), id, "status"), "status"))

	// Drafts and archived ones keep their status whatever the stock.
	r = e.Do(e.as(seller), setStatus, vars{"id": id, "s": "ARCHIVED"}).NoErrors(t)
	require.Equal(t, "ARCHIVED", str(r.Data, "setProductStatus", "status"))
	require.Equal(t, "ARCHIVED", e.update(seller, id, vars{"stock": 0})["status"])
	require.Equal(t, "CONFLICT", e.Do(e.as(seller), setStatus, vars{"id": id, "s": "ACTIVE"}).Code(t))
	r = e.Do(e.as(seller), setStatus, vars{"id": id, "s": "DRAFT"}).NoErrors(t)
	require.Equal(t, "DRAFT", str(r.Data, "setProductStatus", "status"))
	require.Equal(t, "DRAFT", e.update(seller, id, vars{"stock": 1})["status"])
	r = e.Do(e.as(seller), setStatus, vars{"id": id, "s": "ACTIVE"}).NoErrors(t)
	require.Equal(t, "ACTIVE", str(r.Data, "setProductStatus", "status"))

	// Only the seller and STAFF.
	require.Equal(t, "FORBIDDEN", e.Do(e.as(buyer), setStatus, vars{"id": id, "s": "ARCHIVED"}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), setStatus, vars{"id": id, "s": "ARCHIVED"}).Code(t))
	r = e.Do(e.as(staff), setStatus, vars{"id": id, "s": "ARCHIVED"}).NoErrors(t)
	require.Equal(t, "ARCHIVED", str(r.Data, "setProductStatus", "status"))
}

func TestDeleteProductIsSoft(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, rival, fan, critic := newPerson(identity.RoleSeller), newPerson(identity.RoleSeller), newPerson(), newPerson()
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Doomed lamp", 2000)
	kept := e.product(seller, cat, "Kept lamp", 2000)
	slug := str(e.read(e.as(seller), id, "slug"), "slug")
	e.favorite(fan, id)
	e.favorite(fan, kept)
	e.favorite(critic, id)
	e.review(critic, id, 2)
	del := `mutation($id: ID!) { deleteProduct(id: $id) }`

	require.Equal(t, "FORBIDDEN", e.Do(e.as(rival), del, vars{"id": id}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(fan), del, vars{"id": id}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), del, vars{"id": id}).Code(t))
	require.NotNil(t, e.read(e.as(fan), id, "id"))

	r := e.Do(e.as(seller), del, vars{"id": id}).NoErrors(t)
	require.Equal(t, true, r.Data["deleteProduct"])
	for _, c := range []person{seller, staff, fan} {
		require.Nil(t, e.read(e.as(c), id, "id"))
		r := e.Do(e.as(c), `query($s: String!) { product(slug: $s) { id } }`, vars{"s": slug}).NoErrors(t)
		require.Nil(t, r.Data["product"])
	}
	require.Equal(t, []string{kept}, e.sellerProducts(seller, seller))
	r = e.Do(e.Anonymous(), `{ products { edges { node { id } } } }`, nil).NoErrors(t)
	require.Equal(t, []string{kept}, ids(r.Data["products"]))
	// Favourites go; reviews stay.
	require.Zero(t, e.count(`SELECT count(*) FROM favorites WHERE product_id = $1`, id))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM favorites WHERE product_id = $1`, kept))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM product_reviews WHERE product_id = $1`, id))
	r = e.user(e.as(fan), fan.ID, `favoriteProducts { edges { node { id } } }`).NoErrors(t)
	require.Equal(t, []string{kept}, ids(field(r.Data["_entities"].([]any)[0], "favoriteProducts")))
	// Gone for good.
	require.Equal(t, "NOT_FOUND", e.Do(e.as(seller), del, vars{"id": id}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(seller), updateProduct, vars{"id": id, "in": vars{"title": "Revived"}}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(fan), addFavorite, vars{"p": id}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(fan), reviewProduct, vars{"p": id, "r": 5}).Code(t))

	// STAFF may delete anyone's.
	r = e.Do(e.as(staff), del, vars{"id": kept}).NoErrors(t)
	require.Equal(t, true, r.Data["deleteProduct"])
	require.Nil(t, e.read(e.as(seller), kept, "id"))
}

var slugShape = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestProductSlugs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	cat := e.category("things", nil)
	a := e.product(seller, cat, "Blue Phone — 128 GB, (unlocked)!", 2000)
	b := e.product(seller, cat, "Blue Phone — 128 GB, (unlocked)!", 2000)
	greek := e.product(seller, cat, "Ωμέγα ψωμί", 2000)
	long := e.product(seller, cat, strings.Repeat("Long words ", 10)+"end", 2000)

	slugs := map[string]string{}
	for _, id := range []string{a, b, greek, long} {
		slug := str(e.read(e.as(seller), id, "slug"), "slug")
		require.Regexp(t, slugShape, slug)
		require.LessOrEqual(t, len(slug), 140)
		slugs[id] = slug
		r := e.Do(e.Anonymous(), `query($s: String!) { product(slug: $s) { id } }`, vars{"s": slug}).NoErrors(t)
		require.Equal(t, id, str(r.Data, "product", "id"), "by slug")
	}
	require.True(t, strings.HasPrefix(slugs[a], "blue-phone-128-gb-unlocked-"), slugs[a])
	require.NotEqual(t, slugs[a], slugs[b], "unique")
	require.True(t, strings.HasPrefix(slugs[long], "long-words-long-words-"), slugs[long])

	// A slug stays when the title changes: links keep working.
	e.update(seller, a, vars{"title": "Red phone"})
	r := e.Do(e.Anonymous(), `query($s: String!) { product(slug: $s) { id title } }`, vars{"s": slugs[a]}).NoErrors(t)
	require.Equal(t, "Red phone", str(r.Data, "product", "title"))

	r = e.Do(e.Anonymous(), `{ product(slug: "no-such-thing") { id } }`, nil).NoErrors(t)
	require.Nil(t, r.Data["product"])
	r = e.Do(e.Anonymous(), `query($id: ID!, $s: String!) { product(id: $id, slug: $s) { id } }`, vars{"id": a, "s": slugs[a]})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.Anonymous(), `{ product { id } }`, nil).Code(t))
	r = e.Do(e.Anonymous(), `{ product(id: "nope") { id } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "id", r.Field(t))
	r = e.Do(e.Anonymous(), `{ product(id: "00000000-0000-0000-0000-000000000001") { id } }`, nil).NoErrors(t)
	require.Nil(t, r.Data["product"])
}

// The router asks for many entities at once: their nested lists cost the
// same few statements however many there are.
// Not parallel: batches form within a short wait (see fewest).
func TestEntitiesAreNotNPlusOne(t *testing.T) {
	e := setup(t)
	cat := e.category("things", nil)
	critic := newPerson()
	var sellers []person
	var reviews []string
	for i := range 10 {
		s := newPerson(identity.RoleSeller)
		sellers = append(sellers, s)
		for j := range 3 {
			id := e.product(s, cat, "Thing "+itoa(i)+" "+itoa(j), 1000+i)
			if j == 0 {
				reviews = append(reviews, e.review(critic, id, 1+i%5)["id"].(string))
			}
		}
		e.product(s, cat, "Draft "+itoa(i), 1000, withStatus("DRAFT"))
	}

	users := func(n int, offset int) {
		t.Helper()
		reps := []any{}
		for _, s := range sellers[offset : offset+n] {
			reps = append(reps, vars{"__typename": "User", "id": s.ID})
		}
		r := e.Do(e.as(sellers[offset]), `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id
			products(first: 2) { edges { node { id status category { name } isFavorite } } pageInfo { hasNextPage } } } } }`, vars{"r": reps}).NoErrors(t)
		got := r.Data["_entities"].([]any)
		require.Len(t, got, n)
		for i, u := range got {
			conn := field(u, "products")
			require.Len(t, nodes(conn), 2)
			require.Equal(t, true, field(conn, "pageInfo", "hasNextPage"))
			first := nodes(conn)[0]
			if i == 0 {
				require.Equal(t, "DRAFT", first["status"], "their own draft, newest")
			} else {
				require.Equal(t, "ACTIVE", first["status"], "others' drafts are not shown")
			}
		}
	}
	two, eight := e.fewest(func() { users(2, 0) }), e.fewest(func() { users(8, 2) })
	t.Logf("User.products statements: %d for 2 users, %d for 8", two, eight)
	require.Equal(t, two, eight, "User.products is batched")

	reviewed := func(ids []string) {
		t.Helper()
		reps := []any{}
		for _, id := range ids {
			reps = append(reps, vars{"__typename": "ProductReview", "id": id})
		}
		r := e.Do(e.Anonymous(), `query($r: [_Any!]!) { _entities(representations: $r) { ... on ProductReview { id rating product { id } } } }`,
			vars{"r": reps}).NoErrors(t)
		require.Len(t, r.Data["_entities"], len(ids))
		for i, x := range r.Data["_entities"].([]any) {
			require.Equal(t, ids[i], str(x, "id"))
		}
	}
	two, eight = e.fewest(func() { reviewed(reviews[:2]) }), e.fewest(func() { reviewed(reviews[2:]) })
	t.Logf("ProductReview statements: %d for 2 reviews, %d for 8", two, eight)
	require.Equal(t, two, eight, "a review's product is loaded in one batch")
}
