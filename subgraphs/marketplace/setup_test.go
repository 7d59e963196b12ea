package marketplace_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/subgraphs/marketplace"
)

// env is one marketplace service on its own database and Redis, served over
// a real socket, with a tracer counting the domain's SQL statements.
type env struct {
	*subgraphtest.Env
	app        *marketplace.App
	statements *pgtest.Counter
}

func setup(t *testing.T, opts ...func(*marketplace.Config)) *env {
	t.Helper()
	base := subgraphtest.New(t, "marketplace", 5)
	cfg := marketplace.DefaultConfig()
	cfg.Subgraph = base.Config
	statements := &pgtest.Counter{}
	cfg.QueryTracer = statements
	for _, o := range opts {
		o(&cfg)
	}
	app, err := marketplace.New(context.Background(), cfg, base.Log)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	base.Serve(app.Serve)
	return &env{Env: base, app: app, statements: statements}
}

// person is a test user: an id and the roles the router would assert.
type person struct {
	ID    string
	Roles []string
}

func newPerson(roles ...string) person { return person{ID: uuid.NewString(), Roles: roles} }

func (e *env) as(p person) subgraphtest.Caller {
	return e.As(identity.Principal{UserID: p.ID, Roles: p.Roles})
}

var staff = person{ID: uuid.NewString(), Roles: []string{identity.RoleStaff}}

// category creates a category as STAFF and returns its id.
func (e *env) category(slug string, parent *string) string {
	e.T.Helper()
	r := e.Do(e.as(staff), `mutation($in: CreateProductCategoryInput!) { createProductCategory(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"slug": slug, "name": "Category " + slug, "parentId": parent}}).NoErrors(e.T)
	return r.Data["createProductCategory"].(map[string]any)["id"].(string)
}

// product creates an ACTIVE product as seller and returns its id; mods
// change the input.
func (e *env) product(seller person, category, title string, price int, mods ...func(map[string]any)) string {
	e.T.Helper()
	in := map[string]any{"title": title, "description": "A fine " + title, "categoryId": category, "priceCents": price, "stock": 3, "status": "ACTIVE"}
	for _, m := range mods {
		m(in)
	}
	r := e.Do(e.as(seller), `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`, map[string]any{"in": in}).NoErrors(e.T)
	return r.Data["createProduct"].(map[string]any)["id"].(string)
}

func field(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func nodes(conn any) []map[string]any {
	var out []map[string]any
	edges, _ := field(conn, "edges").([]any)
	for _, e := range edges {
		out = append(out, e.(map[string]any)["node"].(map[string]any))
	}
	return out
}

func TestSmoke(t *testing.T) {
	e := setup(t)
	seller, buyer := newPerson(identity.RoleSeller), newPerson()
	elec := e.category("electronics", nil)
	phones := e.category("phones", &elec)
	p1 := e.product(seller, phones, "Blue phone with a big screen", 19900, func(in map[string]any) {
		in["attributes"] = []any{map[string]any{"name": "Colour", "value": "blue"}}
	})
	e.product(seller, elec, "Red radio for the kitchen", 2900)
	e.Do(e.as(buyer), `mutation($p: ID!) { addFavorite(productId: $p) { favoriteCount isFavorite } }`, map[string]any{"p": p1}).NoErrors(t)
	r := e.Do(e.as(buyer), `mutation($p: ID!) { reviewProduct(productId: $p, rating: 4, comment: "good") { id rating product { rating reviewCount ratingDistribution } } }`, map[string]any{"p": p1})
	t.Logf("%+v", r)
	r.NoErrors(t)
	r = e.Do(e.as(buyer), `query($c: ID!) { products(filter: {search: "phnoe blue", categoryId: $c}) { edges { node { title isFavorite attributes { name value } category { slug parent { slug } } } } facets { total categories { category { slug } count } prices { minPriceCents maxPriceCents count } } } productCategories { slug productCount children { slug } } }`, map[string]any{"c": elec})
	t.Logf("%+v", r)
	r.NoErrors(t)
	r = e.Do(e.as(buyer), `{ products(sort: PRICE_ASC, filter: {attributes: [{name: "colour", values: ["blue","red"]}]}) { edges { node { title priceCents } } facets { total } } }`, nil)
	t.Logf("%+v", r)
	r.NoErrors(t)
}
