package e2e_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/worker/mailcatch"
)

// The tests in this file run the whole platform (users, notifications and
// freelance subgraphs, the worker with a mail catcher, the router on the
// committed graph) and act only as clients of the router would: HTTP POST and
// GET, and graphql-transport-ws over real sockets. Each test owns its platform,
// so they run in parallel.

const notificationFields = `id kind title body recipient { id username }`

// TestPlatformWelcome: a sign-up's WELCOME reaches every channel — the live
// subscription opened before it was delivered, the user's list, and e-mail.
func TestPlatformWelcome(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.startSubgraphs()
	p.startRouter()
	// The worker starts only once the subscription is listening, so the
	// WELCOME is sure to arrive live rather than before it.
	ada := p.register("ada")
	ws := p.dial(ada.Token)
	op := ws.Subscribe(`subscription { notificationAdded { `+notificationFields+` } }`, nil)
	p.waitSubscribed(ada.ID)
	p.startWorker()

	live := ws.notification(op)
	require.Equal(t, "WELCOME", live["kind"])
	require.Equal(t, "Welcome, Display ada!", live["title"])
	// recipient.username is a join to the users subgraph inside a subscription event.
	require.Equal(t, map[string]any{"id": ada.ID, "username": "ada"}, live["recipient"])

	d := p.ok(ada.Token, `{ me { unreadNotificationCount notifications { edges { node { id kind title } } } } }`, nil)
	require.EqualValues(t, 1, dig(d, "me", "unreadNotificationCount"))
	require.Equal(t, []any{map[string]any{"node": map[string]any{"id": live["id"], "kind": "WELCOME", "title": "Welcome, Display ada!"}}},
		dig(d, "me", "notifications", "edges"))

	m := p.waitMail(ada.Email, nil)
	require.Equal(t, "Welcome to Supergraph, Display ada!", m.Subject)
	require.Contains(t, m.Text, "Hi Display ada,")
	require.Contains(t, m.Text, "Welcome, Display ada!")
	require.Contains(t, m.Text, live["body"])
	require.Contains(t, m.HTML, "Display ada")
	require.Len(t, p.mail.Messages(), 1, "one sign-up, one e-mail")
}

// --- the freelance story ---

const gigFields = `id title status rating reviewCount freelancer { id username displayName }
  packages { tier priceCents currency deliveryDays revisions }`

const orderFields = `id status tier priceCents currency revisionsAllowed revisionsUsed
  buyer { id username } freelancer { id username } gig { id title }
  timeline { fromStatus status actor { username } message }`

func (p *platform) categoryID(slug string) string {
	p.t.Helper()
	for _, c := range p.ok("", `{ gigCategories { id slug } }`, nil)["gigCategories"].([]any) {
		if c.(map[string]any)["slug"] == slug {
			return c.(map[string]any)["id"].(string)
		}
	}
	p.t.Fatalf("no category %s", slug)
	return ""
}

// gigInput is a gig with a BASIC package of 50.00 USD allowing one revision
// and a STANDARD one.
func gigInput(title, categoryID, status string) map[string]any {
	in := map[string]any{
		"title": title, "description": "Hand-drawn vector logos with a style guide.", "categoryId": categoryID,
		"tags": []any{"logo", "branding"},
		"packages": []any{
			map[string]any{"tier": "BASIC", "title": "Basic", "priceCents": 5000, "deliveryDays": 3, "revisions": 1, "features": []any{"one concept"}},
			map[string]any{"tier": "STANDARD", "title": "Standard", "priceCents": 9000, "deliveryDays": 5, "revisions": 2},
		},
	}
	if status != "" {
		in["status"] = status
	}
	return in
}

// createGig creates a gig (ACTIVE unless status says otherwise) and returns its id.
func (p *platform) createGig(token, title, categoryID, status string) string {
	p.t.Helper()
	d := p.ok(token, `mutation($in: CreateGigInput!) { createGig(input: $in) { id } }`,
		map[string]any{"in": gigInput(title, categoryID, status)})
	return dig(d, "createGig", "id").(string)
}

const placeOrder = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { ` + orderFields + ` } }`

func orderInput(gigID string) map[string]any {
	return map[string]any{"in": map[string]any{"gigId": gigID, "tier": "BASIC", "requirements": "Make it blue."}}
}

// transition runs an order mutation ("start", "deliver", "revise",
// "complete", "cancel") and returns the response.
func (p *platform) transition(token, action, orderID string) gqlResponse {
	p.t.Helper()
	vars := map[string]any{"id": orderID}
	var q string
	switch action {
	case "start", "complete":
		q = fmt.Sprintf(`mutation($id: ID!) { %sOrder(id: $id) { %s } }`, action, orderFields)
	case "cancel":
		q, vars["r"] = `mutation($id: ID!, $r: String) { cancelOrder(id: $id, reason: $r) { `+orderFields+` } }`, "Changed my mind."
	case "deliver":
		q, vars["m"] = `mutation($id: ID!, $m: String!) { deliverOrder(id: $id, message: $m) { `+orderFields+` } }`, "Here it is."
	case "revise":
		q, vars["m"] = `mutation($id: ID!, $m: String!) { requestRevision(id: $id, message: $m) { `+orderFields+` } }`, "Bluer, please."
	default:
		p.t.Fatalf("unknown action %s", action)
	}
	return p.post(token, q, vars)
}

// step runs a transition that must succeed and land in status.
func (p *platform) step(token, action, orderID, status string) map[string]any {
	p.t.Helper()
	r := p.transition(token, action, orderID)
	require.Empty(p.t, r.Errors, "%s", action)
	for _, o := range r.Data {
		require.Equal(p.t, status, o.(map[string]any)["status"], "%s", action)
		return o.(map[string]any)
	}
	return nil
}

// subscribeAfterWelcome waits for the user's WELCOME and subscribes to what
// follows it, so the stream holds only what the test causes.
func (p *platform) subscribeAfterWelcome(a account) (wsClient, string) {
	p.t.Helper()
	welcome := p.waitNotification(a.Token, "WELCOME")
	ws := p.dial(a.Token)
	op := ws.Subscribe(`subscription($after: ID) { notificationAdded(after: $after) { `+notificationFields+` } }`,
		map[string]any{"after": welcome["id"]})
	p.waitSubscribed(a.ID)
	return ws, op
}

// collect reads n notifications of op (in whatever order the worker
// delivered them) and returns them sorted by kind.
func (c wsClient) collect(op string, n int) []map[string]any {
	var out []map[string]any
	for range n {
		out = append(out, c.notification(op))
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["kind"].(string), b["kind"].(string)) })
	return out
}

// TestPlatformFreelanceStory is the seed's sequence diagram (issue 6): a
// freelancer offers a gig, a buyer orders it through the router, the
// freelancer hears of it live and by e-mail, and the order runs its course
// to a review, with the statistics, the rating and the cross-subgraph joins
// following.
func TestPlatformFreelanceStory(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	fay := p.register("fay_freelancer", "FREELANCER")
	bob := p.register("bob_buyer")
	fayWS, fayOp := p.subscribeAfterWelcome(fay)
	bobWS, bobOp := p.subscribeAfterWelcome(bob)

	// The gig: a draft is the freelancer's alone until activated.
	gigID := p.createGig(fay.Token, "A logo for your start-up", p.categoryID("logo-design"), "")
	gigQuery := `query($id: ID!) { gig(id: $id) { ` + gigFields + ` } }`
	require.Nil(t, p.ok("", gigQuery, map[string]any{"id": gigID})["gig"], "a draft is not public")
	r := p.post(bob.Token, placeOrder, orderInput(gigID))
	require.Equal(t, []string{"NOT_FOUND"}, r.codes(), "a draft takes no orders: %+v", r.Errors)
	d := p.ok(fay.Token, `mutation($id: ID!) { setGigStatus(id: $id, status: ACTIVE) { status } }`, map[string]any{"id": gigID})
	require.Equal(t, "ACTIVE", dig(d, "setGigStatus", "status"))

	// Anyone can read it, over GET too, with the freelancer joined in from users.
	g, err := p.request(http.MethodGet, "", gigQuery, map[string]any{"id": gigID}, nil)
	require.NoError(t, err)
	require.Empty(t, g.Errors)
	require.Equal(t, map[string]any{"id": fay.ID, "username": "fay_freelancer", "displayName": "Display fay_freelancer"},
		dig(g.Data, "gig", "freelancer"))
	require.Equal(t, "ACTIVE", dig(g.Data, "gig", "status"))
	require.Len(t, dig(g.Data, "gig", "packages"), 2)

	statsQuery := `query($id: ID!) { user(id: $id) { freelancerStats { completedOrders activeOrders averageRating reviewCount onTimeDeliveryRate earnings { amountCents currency } } } }`
	stats := func() map[string]any {
		return dig(p.ok(fay.Token, statsQuery, map[string]any{"id": fay.ID}), "user", "freelancerStats").(map[string]any)
	}
	// Read (and so cache) the statistics before any order: the changes
	// below must invalidate them.
	require.EqualValues(t, 0, stats()["activeOrders"])

	// The order.
	d = p.ok(bob.Token, placeOrder, orderInput(gigID))
	order := d["placeOrder"].(map[string]any)
	orderID := order["id"].(string)
	require.Equal(t, "PENDING", order["status"])
	require.EqualValues(t, 5000, order["priceCents"])
	require.Equal(t, map[string]any{"id": bob.ID, "username": "bob_buyer"}, order["buyer"])
	require.Equal(t, map[string]any{"id": fay.ID, "username": "fay_freelancer"}, order["freelancer"])

	// The freelancer hears of it live and by e-mail.
	placed := fayWS.notification(fayOp)
	require.Equal(t, "ORDER_PLACED", placed["kind"])
	require.Equal(t, "New order: A logo for your start-up", placed["title"])
	require.Equal(t, map[string]any{"id": fay.ID, "username": "fay_freelancer"}, placed["recipient"])
	m := p.waitMail(fay.Email, func(m mailcatch.Message) bool { return strings.Contains(m.Subject, "New order") })
	require.Equal(t, "Order update: New order: A logo for your start-up", m.Subject)
	require.Contains(t, m.Text, "Hi Display fay_freelancer,")
	require.Contains(t, m.Text, placed["body"])
	require.Contains(t, placed["body"], "A logo for your start-up")
	require.EqualValues(t, 1, stats()["activeOrders"], "the cached statistics were invalidated")

	// start → deliver → request a revision → deliver → complete → review.
	p.step(fay.Token, "start", orderID, "IN_PROGRESS")
	p.step(fay.Token, "deliver", orderID, "DELIVERED")
	p.step(bob.Token, "revise", orderID, "REVISION_REQUESTED")
	o := p.step(fay.Token, "deliver", orderID, "DELIVERED")
	require.EqualValues(t, 1, o["revisionsUsed"])
	r = p.transition(bob.Token, "revise", orderID)
	require.Equal(t, []string{"CONFLICT"}, r.codes(), "the BASIC package allows one revision: %+v", r.Errors)
	o = p.step(bob.Token, "complete", orderID, "COMPLETED")
	var timeline []string
	for _, e := range o["timeline"].([]any) {
		timeline = append(timeline, e.(map[string]any)["status"].(string))
	}
	require.Equal(t, []string{"PENDING", "IN_PROGRESS", "DELIVERED", "REVISION_REQUESTED", "DELIVERED", "COMPLETED"}, timeline)
	require.Equal(t, map[string]any{"username": "bob_buyer"}, dig(o, "timeline", 3, "actor"), "actors are joined from users")

	d = p.ok(bob.Token, `mutation($id: ID!) { leaveReview(orderId: $id, rating: 5, comment: "Exactly what I wanted.") { rating comment buyer { username } gig { id } } }`,
		map[string]any{"id": orderID})
	require.Equal(t, map[string]any{"rating": float64(5), "comment": "Exactly what I wanted.", "buyer": map[string]any{"username": "bob_buyer"}, "gig": map[string]any{"id": gigID}},
		d["leaveReview"])

	// Each party heard of the other's steps, and only those.
	require.Equal(t, []string{"ORDER_COMPLETED", "ORDER_REVISION_REQUESTED", "REVIEW_RECEIVED"}, kinds(fayWS.collect(fayOp, 3)))
	require.Equal(t, []string{"ORDER_DELIVERED", "ORDER_DELIVERED", "ORDER_STARTED"}, kinds(bobWS.collect(bobOp, 3)))

	// The figures follow.
	require.Equal(t, map[string]any{
		"completedOrders": float64(1), "activeOrders": float64(0), "averageRating": float64(5), "reviewCount": float64(1),
		"onTimeDeliveryRate": float64(1), "earnings": []any{map[string]any{"amountCents": float64(5000), "currency": "USD"}},
	}, stats())
	d = p.ok("", `query($id: ID!) { gig(id: $id) { rating reviewCount reviews { edges { node { rating buyer { username } } } } freelancer { username } } }`,
		map[string]any{"id": gigID})
	require.Equal(t, map[string]any{
		"rating": float64(5), "reviewCount": float64(1), "freelancer": map[string]any{"username": "fay_freelancer"},
		"reviews": map[string]any{"edges": []any{map[string]any{"node": map[string]any{"rating": float64(5), "buyer": map[string]any{"username": "bob_buyer"}}}}},
	}, d["gig"])

	// Both sides' order lists, and the freelancer's gigs from the user.
	d = p.ok(bob.Token, `{ me { orders(role: BUYER) { edges { node { id status gig { title freelancer { username } } } } } } }`, nil)
	require.Equal(t, []any{map[string]any{"node": map[string]any{"id": orderID, "status": "COMPLETED",
		"gig": map[string]any{"title": "A logo for your start-up", "freelancer": map[string]any{"username": "fay_freelancer"}}}}},
		dig(d, "me", "orders", "edges"))
	d = p.ok(fay.Token, `{ me { username gigs { edges { node { id } } } orders(role: FREELANCER) { edges { node { id buyer { username } } } } } }`, nil)
	require.Equal(t, []any{map[string]any{"node": map[string]any{"id": gigID}}}, dig(d, "me", "gigs", "edges"))
	require.Equal(t, []any{map[string]any{"node": map[string]any{"id": orderID, "buyer": map[string]any{"username": "bob_buyer"}}}},
		dig(d, "me", "orders", "edges"))

	// The lists hold what was pushed live, and every step was mailed.
	require.ElementsMatch(t, []string{"WELCOME", "ORDER_PLACED", "ORDER_REVISION_REQUESTED", "ORDER_COMPLETED", "REVIEW_RECEIVED"}, kinds(p.notificationNodes(fay.Token)))
	require.ElementsMatch(t, []string{"WELCOME", "ORDER_STARTED", "ORDER_DELIVERED", "ORDER_DELIVERED"}, kinds(p.notificationNodes(bob.Token)))
	for _, who := range []account{fay, bob} {
		want := len(p.notificationNodes(who.Token))
		require.Eventually(t, func() bool { return p.mailsTo(who.Email) == want }, 15*time.Second, 10*time.Millisecond,
			"%s: every notification is mailed: %v", who.Username, p.mailSubjects(who.Email))
	}
	fayWS.Quiet(200 * time.Millisecond)
	bobWS.Quiet(time.Millisecond) // the wait above covered both
}

func (p *platform) mailSubjects(addr string) []string {
	var out []string
	for _, m := range p.mail.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m.Subject)
		}
	}
	return out
}

func (p *platform) mailsTo(addr string) int {
	n := 0
	for _, m := range p.mail.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			n++
		}
	}
	return n
}

// TestPlatformReconnectAfter: a client that reconnects with the last id it
// saw gets what it missed while away and what happens during the switch
// from replay to live, each exactly once.
func TestPlatformReconnectAfter(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	fay := p.register("fay_reconnect", "FREELANCER")
	bob := p.register("bob_reconnect")
	gigID := p.createGig(fay.Token, "Logos, quickly", p.categoryID("logo-design"), "ACTIVE")
	order := func() { p.ok(bob.Token, placeOrder, orderInput(gigID)) }

	ws, op := p.subscribeAfterWelcome(fay)
	order()
	last := ws.notification(op)["id"]
	ws.Close()

	// Away: two notifications are stored while nobody listens.
	order()
	order()
	require.Eventually(t, func() bool { return len(p.notificationNodes(fay.Token)) == 4 }, 15*time.Second, 20*time.Millisecond)

	// Back, while three more orders come in during the replay.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	ws = p.dial(fay.Token)
	wg.Go(func() {
		for range 3 {
			r, err := p.request(http.MethodPost, bob.Token, placeOrder, orderInput(gigID), nil)
			if err == nil && len(r.Errors) > 0 {
				err = fmt.Errorf("%+v", r.Errors)
			}
			errs <- err
		}
	})
	op = ws.Subscribe(`subscription($after: ID) { notificationAdded(after: $after) { id kind } }`, map[string]any{"after": last})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	seen := map[string]int{}
	for range 5 {
		n := ws.notification(op)
		require.Equal(t, "ORDER_PLACED", n["kind"])
		seen[n["id"].(string)]++
	}
	ws.Quiet(300 * time.Millisecond)

	// Exactly the five after `last` in the stored list, each once.
	all := p.notificationNodes(fay.Token)
	require.Len(t, all, 7)
	want := map[string]int{}
	for _, n := range all {
		if n["kind"] == "ORDER_PLACED" && n["id"] != last {
			want[n["id"].(string)] = 1
		}
	}
	require.Equal(t, want, seen)
}

// TestPlatformManySubscribers: twenty users subscribed through one router at
// once, each ordering from the next one's gig: everyone hears exactly of the
// order on their own gig, never of anyone else's.
func TestPlatformManySubscribers(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	const n = 20
	users := make([]account, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { users[i], errs[i] = p.registerRequest(fmt.Sprintf("crowd_%02d", i), "FREELANCER") })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	category := p.categoryID("logo-design")
	gigs := make([]string, n)
	streams := make([]wsClient, n)
	ops := make([]string, n)
	for i, u := range users {
		gigs[i] = p.createGig(u.Token, fmt.Sprintf("Gig number %02d", i), category, "ACTIVE")
		streams[i], ops[i] = p.subscribeAfterWelcome(u)
	}

	for i := range n {
		wg.Go(func() {
			var r gqlResponse
			r, errs[i] = p.request(http.MethodPost, users[i].Token, placeOrder, orderInput(gigs[(i+1)%n]), nil)
			if errs[i] == nil && len(r.Errors) > 0 {
				errs[i] = fmt.Errorf("%+v", r.Errors)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	for i, u := range users {
		got := streams[i].notification(ops[i])
		require.Equal(t, map[string]any{"id": u.ID, "username": u.Username}, got["recipient"], "user %d", i)
		require.Equal(t, fmt.Sprintf("New order: Gig number %02d", i), got["title"], "user %d", i)
	}
	// One wait covers every stream: anything misrouted has arrived by then.
	streams[0].Quiet(200 * time.Millisecond)
	for _, s := range streams[1:] {
		s.Quiet(time.Millisecond)
	}
}

// TestPlatformAuthorization: private data (orders, notifications) through
// the router for the anonymous, another user and a client forging identity.
func TestPlatformAuthorization(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	fay := p.register("fay_private", "FREELANCER")
	bob := p.register("bob_private")
	eve := p.register("eve_other", "FREELANCER")
	gigID := p.createGig(fay.Token, "Private logos", p.categoryID("logo-design"), "ACTIVE")
	orderID := dig(p.ok(bob.Token, placeOrder, orderInput(gigID)), "placeOrder", "id").(string)
	notice := p.waitNotification(fay.Token, "ORDER_PLACED")
	noticeID := notice["id"].(string)

	orderQuery := `query($id: ID!) { order(id: $id) { id status } }`
	privateOfFay := `query($id: ID!) { user(id: $id) { username notifications { edges { node { id } } } unreadNotificationCount notificationPreferences { email } } }`
	ordersOfFay := `query($id: ID!) { user(id: $id) { orders { edges { node { id } } } } }`
	notificationQuery := `query($id: ID!) { notification(id: $id) { id } }`
	markRead := `mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }`

	t.Run("anonymous", func(t *testing.T) {
		p := p.in(t)
		r := p.post("", orderQuery, map[string]any{"id": orderID})
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
		require.Nil(t, r.Data["order"])

		r = p.post("", privateOfFay, map[string]any{"id": fay.ID})
		require.Equal(t, "fay_private", dig(r.Data, "user", "username"), "public fields stay")
		require.Nil(t, dig(r.Data, "user", "notifications"))
		require.Nil(t, dig(r.Data, "user", "unreadNotificationCount"))
		require.Nil(t, dig(r.Data, "user", "notificationPreferences"))
		require.Equal(t, []string{"UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED"}, r.codes())

		// User.orders is nullable: the refusal nulls that field only.
		r = p.post("", ordersOfFay, map[string]any{"id": fay.ID})
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes(), "%+v", r.Errors)
		require.NotNil(t, r.Data["user"])
		require.Nil(t, dig(r.Data, "user", "orders"))

		r = p.post("", notificationQuery, map[string]any{"id": noticeID})
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
		r = p.post("", markRead, map[string]any{"id": noticeID})
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
		r = p.post("", placeOrder, orderInput(gigID))
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
		r = p.transition("", "start", orderID)
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())

		ws := p.dial("")
		op := ws.Subscribe(`subscription { notificationAdded { id } }`, nil)
		refusal := ws.OpError(op)
		require.Equal(t, "UNAUTHENTICATED", refusal.Extensions["code"], "%+v", refusal)

		r = p.post("not-a-token", `{ me { id } }`, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
	})

	t.Run("forged identity", func(t *testing.T) {
		p := p.in(t)
		// An assertion signed with the router's own key, sent by a client:
		// the router must strip it, or anyone holding one could be anyone.
		a, err := identity.NewSigner(p.routerKey).Sign(identity.Principal{UserID: fay.ID, Roles: []string{"STAFF"}}, "users")
		require.NoError(t, err)
		aWS, err := identity.NewSigner(p.routerKey).Sign(identity.Principal{UserID: fay.ID, Roles: []string{"STAFF"}}, "notifications")
		require.NoError(t, err)
		forged := http.Header{identity.Header: {a}}
		r, err := p.request(http.MethodPost, "", `{ me { id } }`, nil, forged)
		require.NoError(t, err)
		require.Empty(t, r.Errors)
		require.Equal(t, map[string]any{"me": nil}, r.Data)
		r, err = p.request(http.MethodPost, "", orderQuery, map[string]any{"id": orderID}, forged)
		require.NoError(t, err)
		require.Equal(t, []string{"UNAUTHENTICATED"}, r.codes())
		// As another user, the forged header changes nothing either.
		r, err = p.request(http.MethodPost, eve.Token, privateOfFay, map[string]any{"id": fay.ID}, forged)
		require.NoError(t, err)
		require.Nil(t, dig(r.Data, "user", "notifications"))
		require.Contains(t, r.codes(), "FORBIDDEN")

		ws := p.dialWith(map[string]any{identity.Header: aWS})
		op := ws.Subscribe(`subscription { notificationAdded { id } }`, nil)
		refusal := ws.OpError(op)
		require.Equal(t, "UNAUTHENTICATED", refusal.Extensions["code"], "%+v", refusal)

		// A token signed by anyone but the users service is refused.
		_, other, err := ed25519.GenerateKey(nil)
		require.NoError(t, err)
		bad, err := identity.NewSigner(other).Sign(identity.Principal{UserID: fay.ID}, "users")
		require.NoError(t, err)
		r = p.post(bad, `{ me { id } }`, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
	})

	t.Run("another user", func(t *testing.T) {
		p := p.in(t)
		d := p.ok(eve.Token, orderQuery, map[string]any{"id": orderID})
		require.Nil(t, d["order"], "someone else's order does not exist for eve")

		r := p.post(eve.Token, privateOfFay, map[string]any{"id": fay.ID})
		require.Equal(t, "fay_private", dig(r.Data, "user", "username"))
		require.Nil(t, dig(r.Data, "user", "notifications"))
		require.Nil(t, dig(r.Data, "user", "unreadNotificationCount"))
		require.Equal(t, []string{"FORBIDDEN", "FORBIDDEN", "FORBIDDEN"}, r.codes())

		r = p.post(eve.Token, ordersOfFay, map[string]any{"id": fay.ID})
		require.Equal(t, []string{"FORBIDDEN"}, r.codes(), "%+v", r.Errors)
		require.NotNil(t, r.Data["user"])
		require.Nil(t, dig(r.Data, "user", "orders"))

		d = p.ok(eve.Token, notificationQuery, map[string]any{"id": noticeID})
		require.Nil(t, d["notification"])
		r = p.post(eve.Token, markRead, map[string]any{"id": noticeID})
		require.Len(t, r.Errors, 1)
		require.Contains(t, []string{"FORBIDDEN", "NOT_FOUND"}, r.codes()[0])

		for _, action := range []string{"start", "deliver", "complete", "cancel"} {
			r = p.transition(eve.Token, action, orderID)
			require.Equal(t, []string{"NOT_FOUND"}, r.codes(), "%s by a stranger", action)
		}
		// The parties cannot take each other's steps either.
		r = p.transition(bob.Token, "start", orderID)
		require.Equal(t, []string{"FORBIDDEN"}, r.codes(), "%+v", r.Errors)
		r = p.transition(fay.Token, "complete", orderID)
		require.NotEmpty(t, r.Errors)

		// Public statistics, private earnings.
		d = p.ok(eve.Token, `query($id: ID!) { user(id: $id) { freelancerStats { activeOrders earnings { amountCents } } } }`, map[string]any{"id": fay.ID})
		require.Equal(t, map[string]any{"activeOrders": float64(1), "earnings": nil}, dig(d, "user", "freelancerStats"))
	})

	t.Run("the owners", func(t *testing.T) {
		p := p.in(t)
		d := p.ok(fay.Token, privateOfFay, map[string]any{"id": fay.ID})
		require.EqualValues(t, 2, dig(d, "user", "unreadNotificationCount"), "eve's attempt marked nothing read")
		require.Equal(t, orderID, dig(p.ok(bob.Token, orderQuery, map[string]any{"id": orderID}), "order", "id"))
		require.Equal(t, orderID, dig(p.ok(fay.Token, orderQuery, map[string]any{"id": orderID}), "order", "id"))
		d = p.ok(fay.Token, markRead, map[string]any{"id": noticeID})
		require.NotNil(t, dig(d, "markNotificationRead", "readAt"))
	})
}

// TestLogoutClosesLiveConnectionsAtOnce: signing out (or changing the
// password) through the users service closes the session's live WebSocket
// connections right away, not at the router's next periodic check (an hour
// here).
func TestLogoutClosesLiveConnectionsAtOnce(t *testing.T) {
	p := newPlatform(t)
	p.startSubgraphs()
	cfg := p.routerConfig()
	cfg.RevocationCheckInterval = time.Hour
	p.startRouterWith(cfg)

	r := p.post("", `mutation($in: RegisterInput!) { register(input: $in) { accessToken refreshToken } }`, map[string]any{
		"in": map[string]any{"email": "leaver@example.com", "username": "leaver", "password": "correct horse battery", "displayName": "Leaver", "roles": []string{}},
	})
	require.Empty(t, r.Errors)
	access, _ := dig(r.Data, "register", "accessToken").(string)
	refresh, _ := dig(r.Data, "register", "refreshToken").(string)

	ws := p.dial(access)
	ws.Subscribe(`subscription { notificationAdded { id } }`, nil)
	p.waitSubscribed(dig(p.ok(access, `{ me { id } }`, nil), "me", "id").(string))

	r = p.post(access, `mutation($r: String!) { logout(refreshToken: $r) }`, map[string]any{"r": refresh})
	require.Empty(t, r.Errors)
	code, reason := ws.CloseCode(10 * time.Second)
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Contains(t, reason, "revoked")
}
