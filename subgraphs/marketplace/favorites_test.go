package marketplace_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
)

func TestFavoriteIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, fan, other := newPerson(identity.RoleSeller), newPerson(), newPerson()
	cat := e.category("things", nil)
	id := e.product(seller, cat, "Lovely lamp", 2000)

	for range 2 {
		r := e.Do(e.as(fan), addFavorite, vars{"p": id}).NoErrors(t)
		require.Equal(t, map[string]any{"favoriteCount": 1.0, "isFavorite": true}, r.Data["addFavorite"])
	}
	require.Equal(t, map[string]any{"favoriteCount": 1.0, "isFavorite": true}, e.read(e.as(fan), id, "favoriteCount isFavorite"))
	require.Equal(t, map[string]any{"favoriteCount": 1.0, "isFavorite": false}, e.read(e.as(other), id, "favoriteCount isFavorite"))
	require.Equal(t, map[string]any{"favoriteCount": 1.0, "isFavorite": false}, e.read(e.Anonymous(), id, "favoriteCount isFavorite"))

	for range 2 {
		r := e.Do(e.as(fan), removeFavorite, vars{"p": id}).NoErrors(t)
		require.Equal(t, map[string]any{"favoriteCount": 0.0, "isFavorite": false}, r.Data["removeFavorite"])
	}
	require.Equal(t, map[string]any{"favoriteCount": 0.0, "isFavorite": false}, e.read(e.as(fan), id, "favoriteCount isFavorite"))
	require.Zero(t, e.count(`SELECT count(*) FROM favorites`))

	// Refusals.
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), addFavorite, vars{"p": id}).Code(t))
	r := e.Do(e.as(fan), addFavorite, vars{"p": "lamp"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "productId", r.Field(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(fan), addFavorite, vars{"p": "00000000-0000-0000-0000-000000000001"}).Code(t))
	draft := e.product(seller, cat, "Draft lamp", 2000, withStatus("DRAFT"))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(fan), addFavorite, vars{"p": draft}).Code(t), "a draft is not there for others")
	require.Zero(t, e.count(`SELECT count(*) FROM favorites`))
}

func TestFavoriteCountIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller := newPerson(identity.RoleSeller)
	id := e.product(seller, e.category("things", nil), "Popular lamp", 2000)

	run := func(callers []subgraphtest.Caller, query string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(callers))
		for _, c := range callers {
			wg.Go(func() {
				if _, err := send(e, c, query, vars{"p": id}); err != nil {
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
	fans := make([]subgraphtest.Caller, 50)
	for i := range fans {
		fans[i] = e.as(newPerson())
	}
	run(fans, addFavorite)
	require.EqualValues(t, 50, e.read(e.Anonymous(), id, "favoriteCount")["favoriteCount"])

	keen := e.as(newPerson())
	same := make([]subgraphtest.Caller, 10)
	for i := range same {
		same[i] = keen
	}
	run(same, addFavorite)
	require.EqualValues(t, 51, e.read(e.Anonymous(), id, "favoriteCount")["favoriteCount"], "one user, ten times at once: once")
	require.Equal(t, 51, e.count(`SELECT count(*) FROM favorites WHERE product_id = $1`, id))

	// Removing and adding at once still adds up.
	run(append(fans[:25:25], same...), removeFavorite)
	require.EqualValues(t, 25, e.read(e.Anonymous(), id, "favoriteCount")["favoriteCount"])
	require.Equal(t, 25, e.count(`SELECT count(*) FROM favorites WHERE product_id = $1`, id))
}

func TestFavoriteProductsAreTheUsersOwn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seller, fan := newPerson(identity.RoleSeller), newPerson()
	cat := e.category("things", nil)
	a := e.product(seller, cat, "Lamp A", 2000)
	b := e.product(seller, cat, "Lamp B", 2000)
	c := e.product(seller, cat, "Lamp C", 2000)
	d := e.product(seller, cat, "Lamp D", 2000)
	for _, id := range []string{a, b, c, d} {
		e.favorite(fan, id)
	}
	e.favorite(fan, a) // again: no change
	// Removed and added again: now the most recent.
	e.Do(e.as(fan), removeFavorite, vars{"p": b}).NoErrors(t)
	e.favorite(fan, b)

	favs := func(c person, first int, after any) subgraphtest.Response {
		t.Helper()
		q := `favoriteProducts(first: ` + itoa(first) + `, after: ` + quote(after) + `) { edges { node { id isFavorite } } pageInfo { hasNextPage hasPreviousPage endCursor } }`
		return e.user(e.as(c), fan.ID, q)
	}
	r := favs(fan, 10, nil).NoErrors(t)
	conn := field(r.Data["_entities"].([]any)[0], "favoriteProducts")
	require.Equal(t, []string{b, d, c, a}, ids(conn), "most recently added first")
	for _, n := range nodes(conn) {
		require.Equal(t, true, n["isFavorite"])
	}

	// Paging.
	var walked []string
	var after any
	for page := 0; ; page++ {
		r := favs(fan, 3, after).NoErrors(t)
		conn := field(r.Data["_entities"].([]any)[0], "favoriteProducts")
		walked = append(walked, ids(conn)...)
		require.Equal(t, page > 0, field(conn, "pageInfo", "hasPreviousPage"))
		if field(conn, "pageInfo", "hasNextPage") == false {
			break
		}
		after = field(conn, "pageInfo", "endCursor")
	}
	require.Equal(t, []string{b, d, c, a}, walked)

	// Withdrawn products leave the list; listed again, they come back in place.
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ARCHIVED) { status } }`, vars{"id": d}).NoErrors(t)
	r = favs(fan, 10, nil).NoErrors(t)
	require.Equal(t, []string{b, c, a}, ids(field(r.Data["_entities"].([]any)[0], "favoriteProducts")))
	e.Do(e.as(seller), `mutation($id: ID!) { setProductStatus(id: $id, status: ACTIVE) { status } }`, vars{"id": d}).NoErrors(t)
	r = favs(fan, 10, nil).NoErrors(t)
	require.Equal(t, []string{b, d, c, a}, ids(field(r.Data["_entities"].([]any)[0], "favoriteProducts")))

	// Only the user themself.
	for _, other := range []person{newPerson(), seller, staff} {
		r := favs(other, 10, nil)
		require.Equal(t, "FORBIDDEN", r.Code(t))
		require.Nil(t, field(r.Data["_entities"].([]any)[0], "favoriteProducts"))
	}
	r = e.user(e.Anonymous(), fan.ID, `favoriteProducts { edges { node { id } } }`)
	require.Equal(t, "UNAUTHENTICATED", r.Code(t))
	r = favs(fan, 0, nil)
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "first", r.Field(t))
}
