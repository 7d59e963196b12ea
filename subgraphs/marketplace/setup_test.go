package marketplace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
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

// fanOutBatch is a setup option: each price-drop fan-out step reaches n users.
func fanOutBatch(n int) func(*marketplace.Config) {
	return func(c *marketplace.Config) { c.FanOutBatch = n }
}

// reviewEditWindow is a setup option: reviews can change for d after writing.
func reviewEditWindow(d time.Duration) func(*marketplace.Config) {
	return func(c *marketplace.Config) { c.ReviewEditWindow = d }
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

// vars is a shorter map literal for query variables.
type vars = map[string]any

// category creates a category as STAFF and returns its id.
func (e *env) category(slug string, parent *string) string {
	e.T.Helper()
	return e.categoryNamed(slug, "Category "+slug, parent)
}

// categoryNamed creates a category with a given name as STAFF and returns its id.
func (e *env) categoryNamed(slug, name string, parent *string) string {
	e.T.Helper()
	r := e.Do(e.as(staff), `mutation($in: CreateProductCategoryInput!) { createProductCategory(input: $in) { id } }`,
		vars{"in": vars{"slug": slug, "name": name, "parentId": parent}}).NoErrors(e.T)
	return str(r.Data, "createProductCategory", "id")
}

const createProduct = `mutation($in: CreateProductInput!) { createProduct(input: $in) { id slug status } }`

// product creates an ACTIVE product as seller and returns its id; mods
// change the input.
func (e *env) product(seller person, category, title string, price int, mods ...func(map[string]any)) string {
	e.T.Helper()
	in := vars{"title": title, "description": "A fine " + title, "categoryId": category, "priceCents": price, "stock": 3, "status": "ACTIVE"}
	for _, m := range mods {
		m(in)
	}
	r := e.Do(e.as(seller), createProduct, vars{"in": in}).NoErrors(e.T)
	return str(r.Data, "createProduct", "id")
}

// Input modifiers for product.
func withStatus(s string) func(map[string]any) {
	return func(in map[string]any) { in["status"] = s }
}

func withStock(n int) func(map[string]any) { return func(in map[string]any) { in["stock"] = n } }

func withDescription(d string) func(map[string]any) {
	return func(in map[string]any) { in["description"] = d }
}

func withCondition(c string) func(map[string]any) {
	return func(in map[string]any) { in["condition"] = c }
}

// withAttrs sets attributes from name, value pairs.
func withAttrs(pairs ...string) func(map[string]any) {
	return func(in map[string]any) {
		attrs := []any{}
		for i := 0; i+1 < len(pairs); i += 2 {
			attrs = append(attrs, vars{"name": pairs[i], "value": pairs[i+1]})
		}
		in["attributes"] = attrs
	}
}

// read returns product(id) with fields as c; nil when it is null.
func (e *env) read(c subgraphtest.Caller, id, fields string) map[string]any {
	e.T.Helper()
	r := e.Do(c, `query($id: ID!) { product(id: $id) { `+fields+` } }`, vars{"id": id}).NoErrors(e.T)
	m, _ := r.Data["product"].(map[string]any)
	return m
}

const updateProduct = `mutation($id: ID!, $in: UpdateProductInput!) { updateProduct(id: $id, input: $in) { id title priceCents stock status } }`

// update changes a product as p and fails the test on errors.
func (e *env) update(p person, id string, in map[string]any) map[string]any {
	e.T.Helper()
	r := e.Do(e.as(p), updateProduct, vars{"id": id, "in": in}).NoErrors(e.T)
	return r.Data["updateProduct"].(map[string]any)
}

const (
	addFavorite    = `mutation($p: ID!) { addFavorite(productId: $p) { favoriteCount isFavorite } }`
	removeFavorite = `mutation($p: ID!) { removeFavorite(productId: $p) { favoriteCount isFavorite } }`
	reviewProduct  = `mutation($p: ID!, $r: Int!, $c: String) { reviewProduct(productId: $p, rating: $r, comment: $c) { id rating comment editedAt product { rating reviewCount ratingDistribution } } }`
)

// favorite adds product id to p's favourites.
func (e *env) favorite(p person, id string) {
	e.T.Helper()
	e.Do(e.as(p), addFavorite, vars{"p": id}).NoErrors(e.T)
}

// review writes (or edits) p's review of product id and returns the review.
func (e *env) review(p person, id string, rating int) map[string]any {
	e.T.Helper()
	r := e.Do(e.as(p), reviewProduct, vars{"p": id, "r": rating}).NoErrors(e.T)
	return r.Data["reviewProduct"].(map[string]any)
}

// user reads marketplace's User fields of id through _entities, as the router does.
func (e *env) user(c subgraphtest.Caller, id, fields string) subgraphtest.Response {
	e.T.Helper()
	q := `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id ` + fields + ` } } }`
	return e.Do(c, q, vars{"r": []any{vars{"__typename": "User", "id": id}}})
}

// field walks maps by keys; nil when a step is missing.
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

func str(m any, path ...string) string {
	s, _ := field(m, path...).(string)
	return s
}

// nodes returns the nodes of a connection.
func nodes(conn any) []map[string]any {
	var out []map[string]any
	edges, _ := field(conn, "edges").([]any)
	for _, e := range edges {
		out = append(out, e.(map[string]any)["node"].(map[string]any))
	}
	return out
}

// ids returns the node ids of a connection, in order.
func ids(conn any) []string {
	out := []string{}
	for _, n := range nodes(conn) {
		out = append(out, n["id"].(string))
	}
	return out
}

// count runs a SELECT count(*) (or any single integer) query.
func (e *env) count(query string, args ...any) int {
	e.T.Helper()
	var n int
	require.NoError(e.T, e.DB.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// notice is a notification event in the outbox.
type notice struct {
	tasks.NotificationDeliver
	ID string
}

// notices returns the notification events of kind in the outbox, oldest first.
func (e *env) notices(kind string) []notice {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(),
		`SELECT id::text, payload::text FROM outbox WHERE task_type = $1 AND payload->>'kind' = $2 ORDER BY created_at, id`,
		tasks.TypeNotificationDeliver, kind)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []notice
	for rows.Next() {
		var id, payload string
		require.NoError(e.T, rows.Scan(&id, &payload))
		var n notice
		require.NoError(e.T, json.Unmarshal([]byte(payload), &n.NotificationDeliver))
		require.NoError(e.T, n.Validate())
		n.ID = id
		out = append(out, n)
	}
	require.NoError(e.T, rows.Err())
	return out
}

// recipients lists the recipients of notices.
func recipients(ns []notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.RecipientID)
	}
	return out
}

// send is Do for goroutines: it reports failures (GraphQL errors included)
// as errors instead of stopping the test from a goroutine that is not the
// test's.
func send(e *env, c subgraphtest.Caller, query string, vars map[string]any) (subgraphtest.Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return subgraphtest.Response{}, err
	}
	req, err := http.NewRequest(http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return subgraphtest.Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(identity.Header, c.Assertion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return subgraphtest.Response{}, err
	}
	defer resp.Body.Close()
	var out subgraphtest.Response
	if resp.StatusCode >= 500 {
		return out, fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, err
	}
	if len(out.Errors) > 0 {
		return out, fmt.Errorf("errors: %+v", out.Errors)
	}
	return out, nil
}

func itoa(n int) string { return fmt.Sprint(n) }

// quote is a GraphQL string literal, or null for nil.
func quote(v any) string {
	if v == nil {
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fewest returns the fewest statements run of three tries of read: loaders
// batch what arrives within a short wait, which a machine busy with other
// tests can stretch past some of the keys, splitting a batch in two. Each
// try starts with an empty cache, so every read reaches the database.
func (e *env) fewest(read func()) int64 {
	e.T.Helper()
	best := int64(-1)
	for range 3 {
		require.NoError(e.T, e.Redis.FlushDB(context.Background()).Err())
		e.statements.Reset()
		read()
		if n := e.statements.Count(); best < 0 || n < best {
			best = n
		}
	}
	return best
}
