package freelance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/freelance"
	"supergraph/subgraphs/freelance/gigs"
)

// env is one freelance service on its own database and Redis, served over a
// real socket, with a tracer counting the domain's SQL statements.
type env struct {
	*subgraphtest.Env
	app        *freelance.App
	statements *pgtest.Counter
	categories map[string]string // slug -> id
}

type setupOption func(*freelance.Config)

func setup(t *testing.T, opts ...setupOption) *env {
	t.Helper()
	base := subgraphtest.New(t, "freelance", 4)
	cfg := freelance.DefaultConfig()
	cfg.Subgraph = base.Config
	statements := &pgtest.Counter{}
	cfg.QueryTracer = statements
	for _, o := range opts {
		o(&cfg)
	}
	app, err := freelance.New(context.Background(), cfg, base.Log)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	base.Serve(app.Serve)
	e := &env{Env: base, app: app, statements: statements, categories: map[string]string{}}
	rows, err := base.DB.Query(context.Background(), "SELECT slug, id::text FROM gig_categories")
	require.NoError(t, err)
	for rows.Next() {
		var slug, id string
		require.NoError(t, rows.Scan(&slug, &id))
		e.categories[slug] = id
	}
	require.NoError(t, rows.Err())
	return e
}

// person is a test user: an id and the roles the router would assert.
type person struct {
	ID    string
	Roles []string
}

func newPerson(roles ...string) person { return person{ID: uuid.NewString(), Roles: roles} }

func (p person) principal() identity.Principal {
	return identity.Principal{UserID: p.ID, Roles: p.Roles}
}

func (e *env) as(p person) subgraphtest.Caller { return e.As(p.principal()) }

// The usual cast.
func (e *env) cast() (freelancer, buyer, other, staff person) {
	return newPerson(identity.RoleFreelancer), newPerson(), newPerson(identity.RoleFreelancer), newPerson(identity.RoleStaff)
}

const gigFields = `id title description status tags startingPriceCents currency rating reviewCount deleted
  freelancer { id } category { id slug }
  packages { tier title priceCents currency deliveryDays revisions features }`

const createGigMutation = `mutation($input: CreateGigInput!) { createGig(input: $input) { ` + gigFields + ` } }`

// gigInput is a valid createGig input; change pieces per test.
func (e *env) gigInput(title string, mods ...func(map[string]any)) map[string]any {
	in := map[string]any{
		"title": title, "description": "A careful, complete piece of work delivered on time.",
		"categoryId": e.categories["logo-design"], "tags": []any{"logo", "branding"},
		"packages": []any{
			map[string]any{"tier": "BASIC", "title": "Basic", "priceCents": 5000, "deliveryDays": 3, "revisions": 1, "features": []any{"one concept"}},
			map[string]any{"tier": "STANDARD", "title": "Standard", "priceCents": 9000, "deliveryDays": 5, "revisions": 2},
		},
	}
	for _, m := range mods {
		m(in)
	}
	return in
}

// createGig creates a gig as p through the API and returns its id.
func (e *env) createGig(p person, title string, status string, mods ...func(map[string]any)) string {
	e.T.Helper()
	in := e.gigInput(title, mods...)
	if status != "" {
		in["status"] = status
	}
	r := e.Do(e.as(p), createGigMutation, map[string]any{"input": in}).NoErrors(e.T)
	return r.Data["createGig"].(map[string]any)["id"].(string)
}

const orderFields = `id status tier priceCents currency dueAt revisionsAllowed revisionsUsed requirements gigTitle packageTitle
  buyer { id } freelancer { id } gig { id }
  timeline { fromStatus status actor { id } message at }`

// placeOrder places an order as buyer and returns its id.
func (e *env) placeOrder(buyer person, gigID, tier string) string {
	e.T.Helper()
	r := e.Do(e.as(buyer), `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`,
		map[string]any{"in": map[string]any{"gigId": gigID, "tier": tier, "requirements": "Make it blue."}}).NoErrors(e.T)
	return r.Data["placeOrder"].(map[string]any)["id"].(string)
}

// transition runs one order mutation and returns the raw response.
func (e *env) transition(who person, action, orderID string, text ...string) subgraphtest.Response {
	e.T.Helper()
	switch action {
	case "start", "complete":
		return e.Do(e.as(who), fmt.Sprintf(`mutation($id: ID!) { %sOrder(id: $id) { %s } }`, action, orderFields), map[string]any{"id": orderID})
	case "deliver":
		return e.Do(e.as(who), `mutation($id: ID!, $m: String!) { deliverOrder(id: $id, message: $m) { `+orderFields+` } }`,
			map[string]any{"id": orderID, "m": first(text, "Here it is.")})
	case "revise":
		return e.Do(e.as(who), `mutation($id: ID!, $m: String!) { requestRevision(id: $id, message: $m) { `+orderFields+` } }`,
			map[string]any{"id": orderID, "m": first(text, "Please change the colour.")})
	case "cancel":
		vars := map[string]any{"id": orderID}
		if len(text) > 0 {
			vars["r"] = text[0]
		}
		return e.Do(e.as(who), `mutation($id: ID!, $r: String) { cancelOrder(id: $id, reason: $r) { `+orderFields+` } }`, vars)
	}
	e.T.Fatalf("unknown action %s", action)
	return subgraphtest.Response{}
}

func first(v []string, def string) string {
	if len(v) > 0 {
		return v[0]
	}
	return def
}

// must runs a transition that has to succeed and returns the order.
func (e *env) must(who person, action, orderID string, text ...string) map[string]any {
	e.T.Helper()
	r := e.transition(who, action, orderID, text...).NoErrors(e.T)
	for _, v := range r.Data {
		return v.(map[string]any)
	}
	return nil
}

// event is a notification event in the outbox.
type event struct {
	tasks.NotificationDeliver
	ID string
}

// events returns the notification events written for an order, oldest first.
func (e *env) events(orderID string) []event {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(),
		`SELECT id::text, payload::text FROM outbox WHERE task_type = $1 AND payload->'data'->>'orderId' = $2 ORDER BY id`,
		tasks.TypeNotificationDeliver, orderID)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []event
	for rows.Next() {
		var id, payload string
		require.NoError(e.T, rows.Scan(&id, &payload))
		var ev event
		require.NoError(e.T, json.Unmarshal([]byte(payload), &ev.NotificationDeliver))
		require.NoError(e.T, ev.Validate())
		ev.ID = id
		out = append(out, ev)
	}
	require.NoError(e.T, rows.Err())
	return out
}

func (e *env) svc() *gigs.Service { return e.app.Domain }

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

// post is Do for goroutines: it reports failures as errors instead of
// stopping the test from a goroutine that is not the test's.
func post(e *env, c subgraphtest.Caller, query string, vars map[string]any) (subgraphtest.Response, error) {
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
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
