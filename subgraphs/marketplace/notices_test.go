package marketplace_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/redisx"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/marketplace/shop"
)

func TestNewReviewNotifiesTheSeller(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, ann, bob := newPerson(identity.RoleSeller), newPerson(), newPerson()
	id := e.product(seller, e.category("things", nil), "Reviewed lamp", 2000)
	slug := str(e.read(e.Anonymous(), id, "slug"), "slug")

	r := e.Do(e.as(ann), reviewProduct, vars{"p": id, "r": 4, "c": "Bright enough."}).NoErrors(t)
	review := str(r.Data, "reviewProduct", "id")
	got := e.notices(shop.KindProductReview)
	require.Len(t, got, 1)
	n := got[0]
	require.Equal(t, seller.ID, n.RecipientID)
	require.Equal(t, "New review: Reviewed lamp", n.Title)
	require.Equal(t, "4/5: Bright enough.", n.Body)
	require.Equal(t, "/products/"+slug, n.Link)
	require.Equal(t, map[string]any{"productId": id, "reviewId": review, "rating": 4.0}, n.Data)
	require.Equal(t, n.EventID, n.ID, "the event id is the outbox row id")

	// An edit tells nobody; failures write nothing; another review does.
	e.review(ann, id, 2)
	e.Do(e.as(seller), reviewProduct, vars{"p": id, "r": 5})
	e.Do(e.as(bob), reviewProduct, vars{"p": id, "r": 9})
	require.Len(t, e.notices(shop.KindProductReview), 1)
	e.review(bob, id, 5)
	require.Equal(t, []string{seller.ID, seller.ID}, recipients(e.notices(shop.KindProductReview)))
	require.Equal(t, "5/5", e.notices(shop.KindProductReview)[1].Body)
}

// priceDropRow is one marketplace:price-drop outbox row.
type priceDropRow struct {
	tasks.MarketplacePriceDrop
	Queue string
}

func (e *env) priceDropRows(productID string) []priceDropRow {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(),
		`SELECT queue, payload::text FROM outbox WHERE task_type = $1 AND payload->>'product_id' = $2 ORDER BY created_at, id`,
		tasks.TypeMarketplacePriceDrop, productID)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []priceDropRow
	for rows.Next() {
		var r priceDropRow
		var payload string
		require.NoError(e.T, rows.Scan(&r.Queue, &payload))
		require.NoError(e.T, json.Unmarshal([]byte(payload), &r.MarketplacePriceDrop))
		require.NoError(e.T, r.Validate())
		out = append(out, r)
	}
	require.NoError(e.T, rows.Err())
	return out
}

// waitFanOutIdle waits until every price-drop row is sent and the
// marketplace queue has nothing left to run: the chains of steps have ended.
func (e *env) waitFanOutIdle(t *testing.T) {
	t.Helper()
	opt, err := redisx.AsynqOpt(e.Config.QueueRedisURL)
	require.NoError(t, err)
	insp := asynq.NewInspector(opt)
	defer func() { require.NoError(t, insp.Close()) }()
	require.Eventually(t, func() bool {
		// The queue first: a step commits its next row before it
		// completes, so once the queue shows it done, the row is counted.
		q, err := insp.GetQueueInfo(tasks.QueueMarketplace)
		unsent := e.count(`SELECT count(*) FROM outbox WHERE task_type = $1 AND sent_at IS NULL`, tasks.TypeMarketplacePriceDrop)
		sent := e.count(`SELECT count(*) FROM outbox WHERE task_type = $1`, tasks.TypeMarketplacePriceDrop)
		return unsent == 0 && err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0 && q.Completed == sent
	}, 20*time.Second, 20*time.Millisecond)
}

// priceDropRecipients lists the recipients of PRICE_DROP notices of a product.
func (e *env) priceDropRecipients(productID string) []string {
	e.T.Helper()
	out := []string{}
	for _, n := range e.notices(shop.KindPriceDrop) {
		if n.Data["productId"] == productID {
			out = append(out, n.RecipientID)
		}
	}
	return out
}

func TestPriceDropFansOutToFavoriters(t *testing.T) {
	t.Parallel()
	e := setup(t, fanOutBatch(2))
	seller := newPerson(identity.RoleSeller)
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Cheaper lamp", 10000)
	slug := str(e.read(e.Anonymous(), id, "slug"), "slug")
	var fans []string
	for i := range 6 {
		p := newPerson()
		e.favorite(p, id)
		if i == 5 { // changed their mind
			e.Do(e.as(p), removeFavorite, vars{"p": id}).NoErrors(t)
			continue
		}
		fans = append(fans, p.ID)
	}
	e.favorite(newPerson(), e.product(seller, cat, "Another lamp", 10000)) // another product's fan
	slices.Sort(fans)

	// Price rises and other changes queue nothing.
	e.update(seller, id, vars{"priceCents": 12000})
	e.update(seller, id, vars{"title": "Cheaper lamp", "stock": 5})
	require.Empty(t, e.priceDropRows(id))

	// A drop: one row in the request, whatever the audience.
	e.update(staff, id, vars{"priceCents": 9900})
	rows := e.priceDropRows(id)
	require.Len(t, rows, 1)
	require.Equal(t, priceDropRow{tasks.MarketplacePriceDrop{ProductID: id, OldPriceCents: 12000, NewPriceCents: 9900}, tasks.QueueMarketplace}, rows[0])

	// The service runs its own queue: steps of two, each queuing the next.
	e.waitFanOutIdle(t)
	got := e.priceDropRecipients(id)
	require.Len(t, got, 5, "each fan once")
	require.ElementsMatch(t, fans, got)
	steps := e.priceDropRows(id)
	require.Len(t, steps, 3, "2 + 2 + 1 fans; a short step ends the chain")
	require.Equal(t, []string{"", fans[1], fans[3]}, []string{steps[0].After, steps[1].After, steps[2].After}, "in user id order")
	for _, s := range steps {
		require.Equal(t, tasks.QueueMarketplace, s.Queue)
	}
	for _, n := range e.notices(shop.KindPriceDrop) {
		require.Equal(t, "Price drop: Cheaper lamp", n.Title)
		require.Equal(t, "Now 99.00 EUR, was 120.00 EUR.", n.Body)
		require.Equal(t, "/products/"+slug, n.Link)
		require.Equal(t, map[string]any{"productId": id, "oldPriceCents": 12000.0, "newPriceCents": 9900.0}, n.Data)
	}

	// A step that runs again (a retried task, a relay re-sending a row Redis
	// lost) succeeds and notifies nobody twice.
	for _, s := range steps {
		require.NoError(t, e.app.Domain.FanOutStep(t.Context(), s.MarketplacePriceDrop), "step after %q", s.After)
	}
	require.Len(t, e.priceDropRecipients(id), 5)

	// A further drop is news again.
	e.update(seller, id, vars{"priceCents": 8000})
	e.waitFanOutIdle(t)
	require.Len(t, e.priceDropRecipients(id), 10)
	require.ElementsMatch(t, append(slices.Clone(fans), fans...), e.priceDropRecipients(id))
	require.Len(t, e.priceDropRows(id), 6)
	// The same drop again (up and back down) is not: its step ends the
	// chain at once instead of failing on the notices it finds.
	e.update(seller, id, vars{"priceCents": 9900})
	e.update(seller, id, vars{"priceCents": 8000})
	e.waitFanOutIdle(t)
	require.Len(t, e.priceDropRows(id), 7)
	require.Len(t, e.priceDropRecipients(id), 10)
	// A draft's drop queues nothing.
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: DRAFT) { status } }`, vars{"id": id}).NoErrors(t)
	e.update(seller, id, vars{"priceCents": 5000})
	require.Len(t, e.priceDropRows(id), 7)

	// A product deleted before its step runs tells nobody.
	require.NoError(t, e.app.Domain.FanOutStep(t.Context(), tasks.MarketplacePriceDrop{ProductID: uuid.NewString(), OldPriceCents: 2, NewPriceCents: 1}))
	require.Len(t, e.notices(shop.KindPriceDrop), 10)
}
