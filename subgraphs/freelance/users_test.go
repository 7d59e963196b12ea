package freelance_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/freelance"
)

const userEntity = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id
  gigs { edges { node { id status } } }
  portfolio { edges { node { id title imageUrl gig { id } freelancer { id } } } }
  freelancerStats { completedOrders activeOrders cancelledOrders earnings { amountCents currency } averageRating reviewCount onTimeDeliveryRate }
} } }`

func (e *env) user(c any, id string) map[string]any {
	e.T.Helper()
	caller := e.Anonymous()
	if p, ok := c.(person); ok {
		caller = e.as(p)
	}
	r := e.Do(caller, userEntity, map[string]any{"r": []any{map[string]any{"__typename": "User", "id": id}}}).NoErrors(e.T)
	return r.Data["_entities"].([]any)[0].(map[string]any)
}

func TestUserGigsAndPortfolio(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, other, staff := e.cast()
	active := e.createGig(freelancer, "Kubernetes cluster setup", "ACTIVE")
	draft := e.createGig(freelancer, "Terraform modules (draft)", "")

	gigIDs := func(u map[string]any) []string {
		var out []string
		for _, edge := range field(u, "gigs", "edges").([]any) {
			out = append(out, field(edge, "node", "id").(string))
		}
		return out
	}
	require.Equal(t, []string{active}, gigIDs(e.user(nil, freelancer.ID)))
	require.Equal(t, []string{active}, gigIDs(e.user(other, freelancer.ID)))
	require.Equal(t, []string{draft, active}, gigIDs(e.user(freelancer, freelancer.ID)), "their own drafts, newest first")
	require.Equal(t, []string{draft, active}, gigIDs(e.user(staff, freelancer.ID)))

	add := `mutation($in: PortfolioItemInput!) { addPortfolioItem(input: $in) { id title imageUrl projectUrl gig { id } freelancer { id } } }`
	upd := `mutation($id: ID!, $in: PortfolioItemInput!) { updatePortfolioItem(id: $id, input: $in) { id title } }`
	rm := `mutation($id: ID!) { removePortfolioItem(id: $id) }`
	in := map[string]any{"in": map[string]any{"title": "Cluster for a fintech", "imageUrl": "https://example.com/a.png", "gigId": active}}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), add, in).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(buyer), add, in).Code(t), "FREELANCER only")
	r := e.Do(e.as(other), add, in)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t), "not their gig")
	require.Equal(t, "gigId", r.Field(t))
	r = e.Do(e.as(freelancer), add, map[string]any{"in": map[string]any{"title": "x", "imageUrl": "javascript:alert(1)"}})
	require.Equal(t, "imageUrl", r.Field(t))
	item := e.Do(e.as(freelancer), add, in).NoErrors(t).Data["addPortfolioItem"].(map[string]any)
	require.Equal(t, active, field(item, "gig", "id"))
	id := item["id"].(string)

	require.Equal(t, "FORBIDDEN", e.Do(e.as(other), upd, map[string]any{"id": id, "in": map[string]any{"title": "Stolen"}}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(other), rm, map[string]any{"id": id}).Code(t))
	require.Equal(t, "Renamed", field(e.Do(e.as(freelancer), upd, map[string]any{"id": id, "in": map[string]any{"title": "Renamed"}}).NoErrors(t).Data, "updatePortfolioItem", "title"))
	require.Equal(t, "By staff", field(e.Do(e.as(staff), upd, map[string]any{"id": id, "in": map[string]any{"title": "By staff"}}).NoErrors(t).Data, "updatePortfolioItem", "title"))

	u := e.user(nil, freelancer.ID)
	items := field(u, "portfolio", "edges").([]any)
	require.Len(t, items, 1, "portfolios are public")
	require.Nil(t, field(items[0], "node", "gig"), "the update dropped the gig link")

	require.Equal(t, true, e.Do(e.as(freelancer), rm, map[string]any{"id": id}).NoErrors(t).Data["removePortfolioItem"])
	require.Equal(t, "NOT_FOUND", e.Do(e.as(freelancer), rm, map[string]any{"id": id}).Code(t))
	require.Empty(t, field(e.user(nil, freelancer.ID), "portfolio", "edges"))
}

func TestUserOrdersSelfOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, other, staff := e.cast()
	gig := e.createGig(freelancer, "SEO audit of a small shop", "ACTIVE")
	mine := e.createGig(buyer2(&buyer), "Buyer also sells gigs", "ACTIVE")
	pending := e.orderIn("PENDING", freelancer, buyer, gig)
	done := e.orderIn("COMPLETED", freelancer, buyer, gig)
	sold := e.orderIn("IN_PROGRESS", buyer, other, mine)

	q := `query($r: [_Any!]!, $role: OrderRole, $status: OrderStatus) { _entities(representations: $r) { ... on User {
	  orders(role: $role, status: $status) { edges { node { id status } } } } } }`
	orders := func(as person, of string, role, status any) ([]string, string) {
		r := e.Do(e.as(as), q, map[string]any{"r": []any{map[string]any{"__typename": "User", "id": of}}, "role": role, "status": status})
		if len(r.Errors) > 0 {
			return nil, r.Code(t)
		}
		var out []string
		for _, edge := range field(r.Data["_entities"].([]any)[0], "orders", "edges").([]any) {
			out = append(out, field(edge, "node", "id").(string))
		}
		return out, ""
	}
	got, _ := orders(buyer, buyer.ID, nil, nil)
	require.Equal(t, []string{sold, done, pending}, got, "both sides, newest first")
	got, _ = orders(buyer, buyer.ID, "BUYER", nil)
	require.Equal(t, []string{done, pending}, got)
	got, _ = orders(buyer, buyer.ID, "FREELANCER", nil)
	require.Equal(t, []string{sold}, got)
	got, _ = orders(buyer, buyer.ID, "BUYER", "COMPLETED")
	require.Equal(t, []string{done}, got)
	got, _ = orders(freelancer, freelancer.ID, "FREELANCER", "PENDING")
	require.Equal(t, []string{pending}, got)
	_, code := orders(other, buyer.ID, nil, nil)
	require.Equal(t, "FORBIDDEN", code)
	got, _ = orders(staff, buyer.ID, "BUYER", nil)
	require.Len(t, got, 2, "STAFF may look")
	r := e.Do(e.Anonymous(), q, map[string]any{"r": []any{map[string]any{"__typename": "User", "id": buyer.ID}}})
	require.Equal(t, "UNAUTHENTICATED", r.Code(t))
}

// buyer2 makes a person a freelancer too (one can buy and sell).
func buyer2(p *person) person {
	p.Roles = append(p.Roles, "FREELANCER")
	return *p
}

func TestFreelancerStatsCachedAndInvalidated(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, other, staff := e.cast()
	gig := e.createGig(freelancer, "Podcast editing and mixing", "ACTIVE")
	stats := func(as any) map[string]any {
		return field(e.user(as, freelancer.ID), "freelancerStats").(map[string]any)
	}

	st := stats(freelancer)
	require.EqualValues(t, 0, st["completedOrders"])
	require.Nil(t, st["averageRating"])
	require.Nil(t, st["onTimeDeliveryRate"])
	require.Equal(t, []any{}, st["earnings"])

	done := e.orderIn("COMPLETED", freelancer, buyer, gig)
	e.orderIn("IN_PROGRESS", freelancer, buyer, gig)
	e.orderIn("CANCELLED", freelancer, buyer, gig)
	st = stats(freelancer)
	require.EqualValues(t, 1, st["completedOrders"], "invalidated by the transitions")
	require.EqualValues(t, 1, st["activeOrders"])
	require.EqualValues(t, 1, st["cancelledOrders"])
	require.Equal(t, 1.0, st["onTimeDeliveryRate"])
	require.Equal(t, []any{map[string]any{"amountCents": 5000.0, "currency": "USD"}}, st["earnings"])
	require.Nil(t, stats(other)["earnings"], "earnings are private")
	require.Nil(t, stats(nil)["earnings"])
	require.NotNil(t, stats(staff)["earnings"])

	// It is cached in Redis (the service's DB 4)...
	keys, err := e.Redis.Keys(context.Background(), "freelance:stats:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	e.statements.Reset()
	e.Do(e.Anonymous(), `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { freelancerStats { completedOrders } } } }`,
		map[string]any{"r": []any{map[string]any{"__typename": "User", "id": freelancer.ID}}}).NoErrors(t)
	require.Zero(t, e.statements.Count(), "served from the cache")

	// ...and a review invalidates it.
	e.Do(e.as(buyer), leaveReview, map[string]any{"o": done, "r": 3}).NoErrors(t)
	st = stats(nil)
	require.Equal(t, 3.0, st["averageRating"])
	require.EqualValues(t, 1, st["reviewCount"])

	// A late delivery lowers the on-time rate.
	late := e.orderIn("IN_PROGRESS", freelancer, buyer, gig)
	_, err = e.DB.Exec(context.Background(), "UPDATE orders SET due_at = now() - interval '1 day' WHERE id = $1", late)
	require.NoError(t, err)
	e.must(freelancer, "deliver", late)
	require.Equal(t, 0.5, stats(nil)["onTimeDeliveryRate"])

	// Redis down: answers still come, from PostgreSQL.
	e.RedisServer.Stop()
	require.EqualValues(t, 1, stats(nil)["completedOrders"])
}

func TestAutoCompleteDelivered(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *freelance.Config) { c.AutoCompleteAfter = 72 * time.Hour })
	freelancer, buyer, _, _ := e.cast()
	gig := e.createGig(freelancer, "Animated explainer video", "ACTIVE")
	old := e.orderIn("DELIVERED", freelancer, buyer, gig)
	recent := e.orderIn("DELIVERED", freelancer, buyer, gig)
	revising := e.orderIn("REVISION_REQUESTED", freelancer, buyer, gig)
	for _, id := range []string{old, revising} {
		_, err := e.DB.Exec(context.Background(), "UPDATE orders SET delivered_at = now() - interval '4 days' WHERE id = $1", id)
		require.NoError(t, err)
	}

	// The scheduler's task, on the queue this service consumes itself.
	opt, err := redisx.AsynqOpt(e.Config.QueueRedisURL)
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	defer func() { require.NoError(t, client.Close()) }()
	_, err = client.Enqueue(asynq.NewTask(tasks.TypeFreelanceAutoCompleteOrders, nil), asynq.Queue(tasks.QueueFreelance))
	require.NoError(t, err)
	status := func(id string) string {
		var s string
		require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT status::text FROM orders WHERE id = $1", id).Scan(&s))
		return s
	}
	require.Eventually(t, func() bool { return status(old) == "COMPLETED" }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, "DELIVERED", status(recent))
	require.Equal(t, "REVISION_REQUESTED", status(revising))

	o := e.Do(e.as(buyer), `query($id: ID!) { order(id: $id) { timeline { status actor { id } } } }`, map[string]any{"id": old}).NoErrors(t).Data["order"]
	tl := field(o, "timeline").([]any)
	require.Equal(t, "COMPLETED", field(tl[len(tl)-1], "status"))
	require.Nil(t, field(tl[len(tl)-1], "actor"), "the platform acted")
	var notified []string
	for _, ev := range e.events(old) {
		if ev.Kind == tasks.KindOrderCompleted {
			notified = append(notified, ev.RecipientID)
		}
	}
	require.ElementsMatch(t, []string{buyer.ID, freelancer.ID}, notified)

	// Running again changes nothing.
	n, err := e.svc().AutoCompleteDelivered(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
}
