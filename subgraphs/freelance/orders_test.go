package freelance_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
)

// TestOrderStory is the seed's sequence: a buyer orders, the freelancer is
// told; start, deliver, revision, deliver, complete, each noted on the
// timeline and announced to the other party.
func TestOrderStory(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, _, _ := e.cast()
	gig := e.createGig(freelancer, "Minimalist logo design", "ACTIVE")

	placed := time.Now()
	r := e.Do(e.as(buyer), `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { `+orderFields+` } }`,
		map[string]any{"in": map[string]any{"gigId": gig, "tier": "STANDARD", "requirements": "  A fox, in orange.  "}}).NoErrors(t)
	o := r.Data["placeOrder"].(map[string]any)
	id := o["id"].(string)
	require.Equal(t, "PENDING", o["status"])
	require.EqualValues(t, 9000, o["priceCents"], "the STANDARD package's price")
	require.EqualValues(t, 2, o["revisionsAllowed"])
	require.Equal(t, "A fox, in orange.", o["requirements"])
	require.Equal(t, buyer.ID, field(o, "buyer", "id"))
	require.Equal(t, freelancer.ID, field(o, "freelancer", "id"))
	due, err := time.Parse(time.RFC3339, o["dueAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, placed.AddDate(0, 0, 5), due, time.Minute, "due after the package's delivery days")

	// Later edits to the gig do not change what was bought.
	e.Do(e.as(freelancer), `mutation($id: ID!, $in: UpdateGigInput!) { updateGig(id: $id, input: $in) { id } }`,
		map[string]any{"id": gig, "in": map[string]any{"title": "Renamed logo gig", "packages": []any{
			map[string]any{"tier": "STANDARD", "title": "Pricier", "priceCents": 99000, "deliveryDays": 9, "revisions": 0}}}}).NoErrors(t)

	e.must(freelancer, "start", id)
	e.must(freelancer, "deliver", id, "First draft attached.")
	o = e.must(buyer, "revise", id, "Make the fox smaller.")
	require.EqualValues(t, 1, o["revisionsUsed"])
	e.must(freelancer, "deliver", id, "Smaller fox attached.")
	o = e.must(buyer, "complete", id)
	require.Equal(t, "COMPLETED", o["status"])
	require.EqualValues(t, 9000, o["priceCents"])
	require.Equal(t, "Minimalist logo design", o["gigTitle"], "the title as ordered")

	timeline := o["timeline"].([]any)
	want := []struct{ from, to, actor, message any }{
		{nil, "PENDING", buyer.ID, nil},
		{"PENDING", "IN_PROGRESS", freelancer.ID, nil},
		{"IN_PROGRESS", "DELIVERED", freelancer.ID, "First draft attached."},
		{"DELIVERED", "REVISION_REQUESTED", buyer.ID, "Make the fox smaller."},
		{"REVISION_REQUESTED", "DELIVERED", freelancer.ID, "Smaller fox attached."},
		{"DELIVERED", "COMPLETED", buyer.ID, nil},
	}
	require.Len(t, timeline, len(want))
	for i, w := range want {
		ev := timeline[i]
		require.Equal(t, w.from, field(ev, "fromStatus"), "event %d", i)
		require.Equal(t, w.to, field(ev, "status"), "event %d", i)
		require.Equal(t, w.actor, field(ev, "actor", "id"), "event %d", i)
		require.Equal(t, w.message, field(ev, "message"), "event %d", i)
	}

	// Each transition told the other party, in the transaction that made it.
	events := e.events(id)
	type notice struct{ kind, to string }
	var got []notice
	for _, ev := range events {
		got = append(got, notice{ev.Kind, ev.RecipientID})
		require.Equal(t, ev.ID, ev.EventID, "the event id is the outbox id, so the worker deduplicates on it")
		require.Equal(t, "/orders/"+id, ev.Link)
		require.Equal(t, gig, ev.Data["gigId"])
		require.NotEmpty(t, ev.Title)
	}
	require.Equal(t, []notice{
		{tasks.KindOrderPlaced, freelancer.ID},
		{tasks.KindOrderStarted, buyer.ID},
		{tasks.KindOrderDelivered, buyer.ID},
		{tasks.KindOrderRevisionRequested, freelancer.ID},
		{tasks.KindOrderDelivered, buyer.ID},
		{tasks.KindOrderCompleted, freelancer.ID},
	}, got)
	require.Contains(t, events[3].Body, "Make the fox smaller.", "the request travels with the notice")
}

func TestOrderVisibilityAndRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, other, staff := e.cast()
	gig := e.createGig(freelancer, "Go microservice development", "ACTIVE")
	id := e.placeOrder(buyer, gig, "BASIC")

	q := `query($id: ID!) { order(id: $id) { id status } }`
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), q, map[string]any{"id": id}).Code(t))
	require.Nil(t, e.Do(e.as(other), q, map[string]any{"id": id}).NoErrors(t).Data["order"], "strangers see nothing")
	for _, p := range []person{buyer, freelancer, staff} {
		require.Equal(t, id, field(e.Do(e.as(p), q, map[string]any{"id": id}).NoErrors(t).Data, "order", "id"))
	}
	// Entities follow the same rule.
	ent := `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id } } }`
	reps := map[string]any{"r": []any{map[string]any{"__typename": "Order", "id": id}}}
	require.Equal(t, []any{nil}, e.Do(e.as(other), ent, reps).NoErrors(t).Data["_entities"])
	require.Equal(t, id, field(e.Do(e.as(buyer), ent, reps).NoErrors(t).Data["_entities"].([]any)[0], "id"))

	// Transitions: anonymous, a stranger, the wrong party.
	for _, action := range []string{"start", "deliver", "revise", "complete", "cancel"} {
		r := e.Do(e.Anonymous(), `mutation($id: ID!) { startOrder(id: $id) { id } }`, map[string]any{"id": id})
		require.Equal(t, "UNAUTHENTICATED", r.Code(t))
		require.Equal(t, "NOT_FOUND", e.transition(other, action, id, "because").Code(t), action)
	}
	require.Equal(t, "FORBIDDEN", e.transition(buyer, "start", id).Code(t))
	require.Equal(t, "FORBIDDEN", e.transition(staff, "start", id).Code(t), "STAFF may cancel, not work on orders")
	e.must(freelancer, "start", id)
	require.Equal(t, "FORBIDDEN", e.transition(buyer, "deliver", id).Code(t))
	e.must(freelancer, "deliver", id)
	require.Equal(t, "FORBIDDEN", e.transition(freelancer, "complete", id).Code(t))
	require.Equal(t, "FORBIDDEN", e.transition(freelancer, "revise", id).Code(t))
	require.Equal(t, "FORBIDDEN", e.transition(staff, "complete", id).Code(t))

	// Placing: not one's own gig, only ACTIVE gigs, only offered tiers.
	place := `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), place, map[string]any{"in": map[string]any{"gigId": gig, "tier": "BASIC"}}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(freelancer), place, map[string]any{"in": map[string]any{"gigId": gig, "tier": "BASIC"}}).Code(t))
	r := e.Do(e.as(buyer), place, map[string]any{"in": map[string]any{"gigId": gig, "tier": "PREMIUM"}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "tier", r.Field(t))
	draft := e.createGig(freelancer, "Unpublished draft gig", "")
	require.Equal(t, "NOT_FOUND", e.Do(e.as(buyer), place, map[string]any{"in": map[string]any{"gigId": draft, "tier": "BASIC"}}).Code(t))
	paused := e.createGig(freelancer, "Paused gig for a while", "PAUSED")
	require.Equal(t, "NOT_FOUND", e.Do(e.as(buyer), place, map[string]any{"in": map[string]any{"gigId": paused, "tier": "BASIC"}}).Code(t))
	r = e.Do(e.as(staff), place, map[string]any{"in": map[string]any{"gigId": paused, "tier": "BASIC"}})
	require.Equal(t, "CONFLICT", r.Code(t), "STAFF sees the paused gig, which still takes no orders")
	require.Contains(t, r.Errors[0].Message, "PAUSED")

	// A deleted gig's orders keep showing it.
	e.Do(e.as(freelancer), `mutation($id: ID!) { deleteGig(id: $id) }`, map[string]any{"id": gig}).NoErrors(t)
	o := e.Do(e.as(buyer), `query($id: ID!) { order(id: $id) { gig { id title deleted } } }`, map[string]any{"id": id}).NoErrors(t)
	require.Equal(t, true, field(o.Data, "order", "gig", "deleted"))
}

// orderIn brings a new order to state, by the parties' own transitions.
func (e *env) orderIn(state string, freelancer, buyer person, gig string) string {
	e.T.Helper()
	id := e.placeOrder(buyer, gig, "BASIC")
	path := map[string][]string{
		"PENDING":            nil,
		"IN_PROGRESS":        {"start"},
		"DELIVERED":          {"start", "deliver"},
		"REVISION_REQUESTED": {"start", "deliver", "revise"},
		"COMPLETED":          {"start", "deliver", "complete"},
		"CANCELLED":          {"cancel"},
	}[state]
	for _, step := range path {
		who := freelancer
		if step == "revise" || step == "complete" || step == "cancel" {
			who = buyer
		}
		e.must(who, step, id)
	}
	return id
}

func TestEveryInvalidTransitionNamesTheState(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, _, staff := e.cast()
	gig := e.createGig(freelancer, "Copywriting for landing pages", "ACTIVE")
	// Which actions each state allows, for the party entitled to them.
	allowed := map[string][]string{
		"PENDING":            {"start", "cancel"},
		"IN_PROGRESS":        {"deliver", "cancel"},
		"DELIVERED":          {"revise", "complete", "cancel"},
		"REVISION_REQUESTED": {"deliver", "cancel"},
		"COMPLETED":          {},
		"CANCELLED":          {},
	}
	actor := map[string]person{"start": freelancer, "deliver": freelancer, "revise": buyer, "complete": buyer, "cancel": buyer}
	for state, ok := range allowed {
		for _, action := range []string{"start", "deliver", "revise", "complete", "cancel"} {
			id := e.orderIn(state, freelancer, buyer, gig)
			r := e.transition(actor[action], action, id, "a reason")
			if contains(ok, action) {
				require.Empty(t, r.Errors, "%s from %s", action, state)
				continue
			}
			require.Equal(t, "CONFLICT", r.Code(t), "%s from %s", action, state)
			require.Contains(t, r.Errors[0].Message, state, "%s from %s names the current state", action, state)
		}
	}
	// Not even STAFF can leave a final state.
	done := e.orderIn("COMPLETED", freelancer, buyer, gig)
	r := e.transition(staff, "cancel", done)
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Contains(t, r.Errors[0].Message, "COMPLETED")

	// The package's revisions run out: BASIC allows one.
	id := e.orderIn("REVISION_REQUESTED", freelancer, buyer, gig)
	e.must(freelancer, "deliver", id)
	r = e.transition(buyer, "revise", id)
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "revisions", r.Field(t))
	// Messages are required where the schema says so.
	r = e.transition(freelancer, "deliver", e.orderIn("IN_PROGRESS", freelancer, buyer, gig), "   ")
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "message", r.Field(t))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestCancelRules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, _, staff := e.cast()
	gig := e.createGig(freelancer, "Voice over for explainers", "ACTIVE")

	// PENDING: the buyer, no reason needed; the freelancer may not.
	id := e.orderIn("PENDING", freelancer, buyer, gig)
	require.Equal(t, "FORBIDDEN", e.transition(freelancer, "cancel", id, "busy").Code(t))
	o := e.must(buyer, "cancel", id)
	require.Equal(t, "CANCELLED", o["status"])
	evs := e.events(id)
	require.Equal(t, tasks.KindOrderCancelled, evs[len(evs)-1].Kind)
	require.Equal(t, freelancer.ID, evs[len(evs)-1].RecipientID, "the other party hears of it")

	// Later: either party, with a reason.
	id = e.orderIn("IN_PROGRESS", freelancer, buyer, gig)
	r := e.transition(buyer, "cancel", id)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "reason", r.Field(t))
	o = e.must(freelancer, "cancel", id, "I fell ill.")
	tl := o["timeline"].([]any)
	require.Equal(t, "I fell ill.", field(tl[len(tl)-1], "message"))
	evs = e.events(id)
	require.Equal(t, buyer.ID, evs[len(evs)-1].RecipientID)

	id = e.orderIn("DELIVERED", freelancer, buyer, gig)
	e.must(buyer, "cancel", id, "Not what I asked for.")

	// STAFF: any time before completion, both parties told.
	id = e.orderIn("REVISION_REQUESTED", freelancer, buyer, gig)
	e.must(staff, "cancel", id)
	evs = e.events(id)
	last2 := []string{evs[len(evs)-2].RecipientID, evs[len(evs)-1].RecipientID}
	require.ElementsMatch(t, []string{buyer.ID, freelancer.ID}, last2)
	o = e.Do(e.as(buyer), `query($id: ID!) { order(id: $id) { timeline { actor { id } } } }`, map[string]any{"id": id}).NoErrors(t).Data["order"].(map[string]any)
	tl = o["timeline"].([]any)
	require.Equal(t, staff.ID, field(tl[len(tl)-1], "actor", "id"))
}

// TestCompleteCancelRace races the buyer's completeOrder against the
// freelancer's cancelOrder on DELIVERED orders: exactly one wins each time,
// the loser is told the state the winner left, and the timeline and outbox
// hold the winner's transition only.
func TestCompleteCancelRace(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, _, _ := e.cast()
	gig := e.createGig(freelancer, "Data analysis in Python", "ACTIVE")
	for round := range 12 {
		id := e.orderIn("DELIVERED", freelancer, buyer, gig)
		complete := e.as(buyer)
		cancel := e.as(freelancer)
		var wg sync.WaitGroup
		start := make(chan struct{})
		var rc, rx subgraphtest.Response
		var errc, errx error
		wg.Go(func() {
			<-start
			rc, errc = post(e, complete, `mutation($id: ID!) { completeOrder(id: $id) { status } }`, map[string]any{"id": id})
		})
		wg.Go(func() {
			<-start
			rx, errx = post(e, cancel, `mutation($id: ID!) { cancelOrder(id: $id, reason: "Out of time.") { status } }`, map[string]any{"id": id})
		})
		close(start)
		wg.Wait()
		require.NoError(t, errc)
		require.NoError(t, errx)
		winners := 0
		var final string
		for _, r := range []subgraphtest.Response{rc, rx} {
			if len(r.Errors) == 0 {
				winners++
				for _, v := range r.Data {
					final = field(v, "status").(string)
				}
			}
		}
		require.Equal(t, 1, winners, "round %d: exactly one transition wins (%+v / %+v)", round, rc.Errors, rx.Errors)
		for _, r := range []subgraphtest.Response{rc, rx} {
			if len(r.Errors) > 0 {
				require.Equal(t, "CONFLICT", r.Code(t))
				require.Contains(t, r.Errors[0].Message, final, "the loser learns the winner's state")
			}
		}
		var terminal int
		require.NoError(t, e.DB.QueryRow(context.Background(),
			`SELECT count(*) FROM order_events WHERE order_id = $1 AND to_status IN ('COMPLETED', 'CANCELLED')`, id).Scan(&terminal))
		require.Equal(t, 1, terminal)
		kinds := 0
		for _, ev := range e.events(id) {
			if ev.Kind == tasks.KindOrderCompleted || ev.Kind == tasks.KindOrderCancelled {
				kinds++
				require.Equal(t, "ORDER_"+final, ev.Kind)
			}
		}
		require.Equal(t, 1, kinds, "one outcome, one notice")
	}
}
