package marketplace_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

const replyToReview = `mutation($id: ID!, $r: String!) { replyToProductReview(reviewId: $id, reply: $r) { id reply repliedAt rating } }`

func TestReviewRules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, buyer := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Reviewed lamp", 2000)

	r := e.Do(e.as(seller), reviewProduct, vars{"p": id, "r": 5})
	require.Equal(t, "FORBIDDEN", r.Code(t), "not one's own product")
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), reviewProduct, vars{"p": id, "r": 5}).Code(t))
	for _, rating := range []int{0, 6, -1} {
		r := e.Do(e.as(buyer), reviewProduct, vars{"p": id, "r": rating})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t))
		require.Equal(t, "rating", r.Field(t))
	}
	r = e.Do(e.as(buyer), reviewProduct, vars{"p": id, "r": 4, "c": strings.Repeat("c", 5001)})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "comment", r.Field(t))
	r = e.Do(e.as(buyer), reviewProduct, vars{"p": "lamp", "r": 4})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "productId", r.Field(t))
	draft := e.product(seller, cat, "Draft lamp", 2000, withStatus("DRAFT"))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(buyer), reviewProduct, vars{"p": draft, "r": 4}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(staff), reviewProduct, vars{"p": draft, "r": 4}).Code(t), "only listed products are reviewed")
	require.Zero(t, e.count(`SELECT count(*) FROM product_reviews`))
	require.Equal(t, map[string]any{"rating": nil, "reviewCount": 0.0}, e.read(e.Anonymous(), id, "rating reviewCount"))

	// A sold-out product is still listed: it can be reviewed.
	e.update(seller, id, vars{"stock": 0})
	rv := e.Do(e.as(buyer), reviewProduct, vars{"p": id, "r": 4, "c": "  Nice.  "}).NoErrors(t).Data["reviewProduct"].(map[string]any)
	require.Equal(t, "Nice.", rv["comment"])
	require.Nil(t, rv["editedAt"])
	require.Equal(t, map[string]any{"rating": 4.0, "reviewCount": 1.0, "ratingDistribution": []any{0.0, 0.0, 0.0, 1.0, 0.0}}, rv["product"])
	r = e.Do(e.Anonymous(), `query($id: ID!) { product(id: $id) { reviews { edges { node { id rating comment author { id } product { id } reply editedAt } } } } }`, vars{"id": id}).NoErrors(t)
	require.Equal(t, []map[string]any{{"id": rv["id"], "rating": 4.0, "comment": "Nice.", "author": map[string]any{"id": buyer.ID},
		"product": map[string]any{"id": id}, "reply": nil, "editedAt": nil}}, nodes(field(r.Data, "product", "reviews")))
}

func TestReviewEditsWithinTheWindow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, ann, bob := newPerson(identity.RoleSeller), newPerson(), newPerson()
	id := e.product(seller, e.category("things", nil), "Reviewed lamp", 2000)

	first := e.review(ann, id, 5)
	require.Equal(t, map[string]any{"rating": 5.0, "reviewCount": 1.0, "ratingDistribution": []any{0.0, 0.0, 0.0, 0.0, 1.0}}, first["product"])
	e.review(bob, id, 2)
	require.Equal(t, map[string]any{"rating": 3.5, "reviewCount": 2.0, "ratingDistribution": []any{0.0, 1.0, 0.0, 0.0, 1.0}},
		e.read(e.Anonymous(), id, "rating reviewCount ratingDistribution"))

	// Ann changes her mind: the same review, the figures move.
	r := e.Do(e.as(ann), reviewProduct, vars{"p": id, "r": 3, "c": "Less good after a week."}).NoErrors(t)
	edited := r.Data["reviewProduct"].(map[string]any)
	require.Equal(t, first["id"], edited["id"])
	require.EqualValues(t, 3, edited["rating"])
	require.Equal(t, "Less good after a week.", edited["comment"])
	require.NotNil(t, edited["editedAt"])
	want := map[string]any{"rating": 2.5, "reviewCount": 2.0, "ratingDistribution": []any{0.0, 1.0, 1.0, 0.0, 0.0}}
	require.Equal(t, want, edited["product"])
	require.Equal(t, want, e.read(e.Anonymous(), id, "rating reviewCount ratingDistribution"))
	// The same rating again changes nothing but the comment.
	e.review(ann, id, 3)
	require.Equal(t, want, e.read(e.Anonymous(), id, "rating reviewCount ratingDistribution"))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM product_reviews WHERE product_id = $1`, id))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM product_reviews WHERE product_id = $1 AND comment IS NULL AND author_id = $2`, id, ann.ID),
		"an edit without a comment clears it")
}

func TestReviewCannotChangeAfterTheWindow(t *testing.T) {
	t.Parallel()
	e := setup(t, reviewEditWindow(time.Microsecond))
	seller, ann := newPerson(identity.RoleSeller), newPerson()
	id := e.product(seller, e.category("things", nil), "Reviewed lamp", 2000)
	e.review(ann, id, 5)
	time.Sleep(time.Millisecond)
	r := e.Do(e.as(ann), reviewProduct, vars{"p": id, "r": 1})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "productId", r.Field(t))
	require.Equal(t, map[string]any{"rating": 5.0, "reviewCount": 1.0}, e.read(e.Anonymous(), id, "rating reviewCount"))
}

func TestSellerRepliesOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, ann, rival := newPerson(identity.RoleSeller), newPerson(), newPerson(identity.RoleSeller)
	id := e.product(seller, e.category("things", nil), "Reviewed lamp", 2000)
	review := e.review(ann, id, 2)["id"].(string)

	for _, c := range []person{ann, rival, staff} {
		require.Equal(t, "FORBIDDEN", e.Do(e.as(c), replyToReview, vars{"id": review, "r": "Hello"}).Code(t))
	}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), replyToReview, vars{"id": review, "r": "Hello"}).Code(t))
	r := e.Do(e.as(seller), replyToReview, vars{"id": review, "r": "   "})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "reply", r.Field(t))
	r = e.Do(e.as(seller), replyToReview, vars{"id": review, "r": strings.Repeat("r", 5001)})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(seller), replyToReview, vars{"id": "00000000-0000-0000-0000-000000000001", "r": "Hello"}).Code(t))

	r = e.Do(e.as(seller), replyToReview, vars{"id": review, "r": " Sorry to hear that. "}).NoErrors(t)
	got := r.Data["replyToProductReview"].(map[string]any)
	require.Equal(t, "Sorry to hear that.", got["reply"])
	require.NotNil(t, got["repliedAt"])
	r = e.Do(e.as(seller), replyToReview, vars{"id": review, "r": "And another thing"})
	require.Equal(t, "CONFLICT", r.Code(t), "once")

	r = e.Do(e.Anonymous(), `query($r: [_Any!]!) { _entities(representations: $r) { ... on ProductReview { reply rating product { id } } } }`,
		vars{"r": []any{vars{"__typename": "ProductReview", "id": review}}}).NoErrors(t)
	require.Equal(t, map[string]any{"reply": "Sorry to hear that.", "rating": 2.0, "product": map[string]any{"id": id}}, r.Data["_entities"].([]any)[0])

	// A review is seen with its product.
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": id}).NoErrors(t)
	r = e.Do(e.Anonymous(), `query($r: [_Any!]!) { _entities(representations: $r) { ... on ProductReview { id } } }`,
		vars{"r": []any{vars{"__typename": "ProductReview", "id": review}, vars{"__typename": "ProductReview", "id": "nope"}}}).NoErrors(t)
	require.Equal(t, []any{nil, nil}, r.Data["_entities"])
}

func TestReviewsPageNewestFirst(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	id := e.product(seller, e.category("things", nil), "Reviewed lamp", 2000)
	var authors []person
	var want []string
	for i := range 5 {
		p := newPerson()
		authors = append(authors, p)
		want = append([]string{e.review(p, id, 1+i)["id"].(string)}, want...)
	}
	e.review(authors[0], id, 5) // an edit does not move it

	q := `query($id: ID!, $a: String) { product(id: $id) { reviews(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`
	var walked []string
	var after any
	for page := 0; ; page++ {
		r := e.Do(e.Anonymous(), q, vars{"id": id, "a": after}).NoErrors(t)
		conn := field(r.Data, "product", "reviews")
		walked = append(walked, ids(conn)...)
		require.Equal(t, page > 0, field(conn, "pageInfo", "hasPreviousPage"))
		if field(conn, "pageInfo", "hasNextPage") == false {
			break
		}
		after = field(conn, "pageInfo", "endCursor")
	}
	require.Equal(t, want, walked)
	r := e.Do(e.Anonymous(), `query($id: ID!) { product(id: $id) { reviews(first: 0) { edges { node { id } } } } }`, vars{"id": id})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
}

func TestRatingsAreExactUnderConcurrentReviews(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	id := e.product(seller, e.category("things", nil), "Contested lamp", 2000)

	type call struct {
		c      subgraphtest.Caller
		rating int
	}
	run := func(calls []call) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(calls))
		for _, c := range calls {
			wg.Go(func() {
				if _, err := send(e, c.c, reviewProduct, vars{"p": id, "r": c.rating}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	check := func() {
		t.Helper()
		var n, sum int
		require.NoError(t, e.DB.QueryRow(t.Context(), `SELECT count(*), coalesce(sum(rating), 0) FROM product_reviews WHERE product_id = $1`, id).Scan(&n, &sum))
		dist := make([]any, 5)
		for i := range dist {
			dist[i] = float64(e.count(`SELECT count(*) FROM product_reviews WHERE product_id = $1 AND rating = $2`, id, i+1))
		}
		got := e.read(e.Anonymous(), id, "rating reviewCount ratingDistribution")
		require.EqualValues(t, n, got["reviewCount"])
		require.InDelta(t, float64(sum)/float64(n), got["rating"], 1e-9)
		require.Equal(t, dist, got["ratingDistribution"])
	}

	var calls []call
	for i := range 50 {
		calls = append(calls, call{e.as(newPerson()), 1 + (i*i)%5})
	}
	run(calls)
	check()
	require.EqualValues(t, 50, e.read(e.Anonymous(), id, "reviewCount")["reviewCount"])

	// Edits by half of them, and one newcomer five times at once.
	var edits []call
	for i, c := range calls[:25] {
		edits = append(edits, call{c.c, 5 - i%3})
	}
	newcomer := e.as(newPerson())
	for i := range 5 {
		edits = append(edits, call{newcomer, 1 + i})
	}
	run(edits)
	check()
	require.EqualValues(t, 51, e.read(e.Anonymous(), id, "reviewCount")["reviewCount"])
}
