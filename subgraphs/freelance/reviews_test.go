package freelance_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
)

const leaveReview = `mutation($o: ID!, $r: Int!, $c: String) { leaveReview(orderId: $o, rating: $r, comment: $c) { id rating comment reply buyer { id } gig { id } } }`
const replyReview = `mutation($id: ID!, $t: String!) { replyToReview(reviewId: $id, reply: $t) { id reply repliedAt } }`

func TestReviewRules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, other, staff := e.cast()
	gig := e.createGig(freelancer, "Mixing and mastering of one song", "ACTIVE")
	vars := func(order string, rating int) map[string]any {
		return map[string]any{"o": order, "r": rating, "c": "  Lovely work.  "}
	}

	delivered := e.orderIn("DELIVERED", freelancer, buyer, gig)
	r := e.Do(e.as(buyer), leaveReview, vars(delivered, 5))
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Contains(t, r.Errors[0].Message, "DELIVERED")

	done := e.orderIn("COMPLETED", freelancer, buyer, gig)
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), leaveReview, vars(done, 5)).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(other), leaveReview, vars(done, 5)).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(freelancer), leaveReview, vars(done, 5)).Code(t), "no reviewing oneself")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(staff), leaveReview, vars(done, 5)).Code(t))
	for _, bad := range []int{0, 6, -1} {
		r := e.Do(e.as(buyer), leaveReview, vars(done, bad))
		require.Equal(t, "BAD_USER_INPUT", r.Code(t))
		require.Equal(t, "rating", r.Field(t))
	}
	rv := e.Do(e.as(buyer), leaveReview, vars(done, 4)).NoErrors(t).Data["leaveReview"].(map[string]any)
	require.EqualValues(t, 4, rv["rating"])
	require.Equal(t, "Lovely work.", rv["comment"])
	require.Equal(t, buyer.ID, field(rv, "buyer", "id"))
	require.Equal(t, gig, field(rv, "gig", "id"))
	r = e.Do(e.as(buyer), leaveReview, vars(done, 5))
	require.Equal(t, "CONFLICT", r.Code(t), "one review per order")

	// The freelancer hears of it.
	var payload tasks.NotificationDeliver
	require.NoError(t, e.DB.QueryRow(context.Background(),
		`SELECT payload->>'recipient_id', payload->>'kind' FROM outbox WHERE payload->'data'->>'reviewId' = $1`, rv["id"]).
		Scan(&payload.RecipientID, &payload.Kind))
	require.Equal(t, tasks.KindReviewReceived, payload.Kind)
	require.Equal(t, freelancer.ID, payload.RecipientID)

	// Replies: the reviewed freelancer, once.
	id := rv["id"].(string)
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), replyReview, map[string]any{"id": id, "t": "Thanks!"}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(buyer), replyReview, map[string]any{"id": id, "t": "Thanks!"}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(other), replyReview, map[string]any{"id": id, "t": "Thanks!"}).Code(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(freelancer), replyReview, map[string]any{"id": id, "t": " "}).Code(t))
	rep := e.Do(e.as(freelancer), replyReview, map[string]any{"id": id, "t": "Thanks!"}).NoErrors(t).Data["replyToReview"]
	require.Equal(t, "Thanks!", field(rep, "reply"))
	require.NotNil(t, field(rep, "repliedAt"))
	require.Equal(t, "CONFLICT", e.Do(e.as(freelancer), replyReview, map[string]any{"id": id, "t": "Again"}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(freelancer), replyReview, map[string]any{"id": "00000000-0000-0000-0000-000000000001", "t": "x"}).Code(t))

	// Public on the gig, and on the order for its parties.
	g := e.Do(e.Anonymous(), `query($id: ID!) { gig(id: $id) { rating reviewCount reviews { edges { node { rating reply } } } } }`, map[string]any{"id": gig}).NoErrors(t).Data["gig"]
	require.Equal(t, 4.0, field(g, "rating"))
	require.EqualValues(t, 1, field(g, "reviewCount"))
	require.Len(t, field(g, "reviews", "edges"), 1)
	o := e.Do(e.as(buyer), `query($id: ID!) { order(id: $id) { review { rating } } }`, map[string]any{"id": done}).NoErrors(t).Data["order"]
	require.EqualValues(t, 4, field(o, "review", "rating"))
}

// TestRatingStaysExact reviews many orders of one gig at once: the gig's
// rating and reviewCount match its reviews exactly, and reviews page.
func TestRatingStaysExact(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer := newPerson("FREELANCER")
	gig := e.createGig(freelancer, "Translation English to German", "ACTIVE")
	ratings := []int{5, 4, 4, 3, 5, 1, 2, 5, 5, 4, 3, 5}
	orders := make([]string, len(ratings))
	buyers := make([]person, len(ratings))
	for i := range ratings {
		buyers[i] = newPerson()
		orders[i] = e.orderIn("COMPLETED", freelancer, buyers[i], gig)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ratings))
	results := make([]subgraphtest.Response, len(ratings))
	for i := range ratings {
		c := e.as(buyers[i])
		wg.Go(func() {
			results[i], errs[i] = post(e, c, leaveReview, map[string]any{"o": orders[i], "r": ratings[i]})
		})
	}
	wg.Wait()
	sum := 0
	for i := range ratings {
		require.NoError(t, errs[i])
		require.Empty(t, results[i].Errors)
		sum += ratings[i]
	}
	g := e.Do(e.Anonymous(), `query($id: ID!) { gig(id: $id) { rating reviewCount } }`, map[string]any{"id": gig}).NoErrors(t).Data["gig"]
	require.EqualValues(t, len(ratings), field(g, "reviewCount"))
	require.InDelta(t, float64(sum)/float64(len(ratings)), field(g, "rating"), 1e-12)

	q := `query($id: ID!, $after: String) { gig(id: $id) { reviews(first: 5, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`
	seen := map[string]bool{}
	after := any(nil)
	for {
		conn := field(e.Do(e.Anonymous(), q, map[string]any{"id": gig, "after": after}).NoErrors(t).Data, "gig", "reviews")
		for _, edge := range field(conn, "edges").([]any) {
			id := field(edge, "node", "id").(string)
			require.False(t, seen[id])
			seen[id] = true
		}
		if !field(conn, "pageInfo", "hasNextPage").(bool) {
			break
		}
		after = field(conn, "pageInfo", "endCursor")
	}
	require.Len(t, seen, len(ratings))
}
