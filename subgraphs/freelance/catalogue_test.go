package freelance_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const gigQuery = `query($id: ID!) { gig(id: $id) { id status title } }`

func TestCreateGigNeedsFreelancerRole(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, buyer, _, _ := e.cast()
	in := map[string]any{"input": e.gigInput("Minimalist logo design")}

	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), createGigMutation, in).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(buyer), createGigMutation, in).Code(t))

	r := e.Do(e.as(freelancer), createGigMutation, in).NoErrors(t)
	g := r.Data["createGig"].(map[string]any)
	require.Equal(t, "DRAFT", g["status"], "new gigs start as drafts")
	require.Equal(t, freelancer.ID, field(g, "freelancer", "id"))
	require.Equal(t, "logo-design", field(g, "category", "slug"))
	require.EqualValues(t, 5000, g["startingPriceCents"], "the cheapest package")
	require.Equal(t, "USD", g["currency"])
	require.Nil(t, g["rating"])
	pkgs := g["packages"].([]any)
	require.Len(t, pkgs, 2)
	require.Equal(t, "BASIC", field(pkgs[0], "tier"))
	require.Equal(t, "USD", field(pkgs[1], "currency"))
	require.Equal(t, []any{"one concept"}, field(pkgs[0], "features"))
}

func TestGigValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer := newPerson("FREELANCER")
	pkg := func(tier string, price, days, revisions int) map[string]any {
		return map[string]any{"tier": tier, "title": tier, "priceCents": price, "deliveryDays": days, "revisions": revisions}
	}
	packages := func(p ...any) func(map[string]any) {
		return func(m map[string]any) { m["packages"] = append([]any{}, p...) }
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	cases := []struct {
		name  string
		mod   func(map[string]any)
		field string
	}{
		{"no packages", packages(), "packages"},
		{"four packages", packages(pkg("BASIC", 1, 1, 0), pkg("STANDARD", 1, 1, 0), pkg("PREMIUM", 1, 1, 0), pkg("BASIC", 2, 1, 0)), "packages"},
		{"duplicate tier", packages(pkg("BASIC", 100, 1, 0), pkg("BASIC", 200, 1, 0)), "packages"},
		{"zero price", packages(pkg("BASIC", 0, 1, 0)), "packages"},
		{"negative price", packages(pkg("BASIC", -5, 1, 0)), "packages"},
		{"zero days", packages(pkg("BASIC", 100, 0, 0)), "packages"},
		{"91 days", packages(pkg("BASIC", 100, 91, 0)), "packages"},
		{"negative revisions", packages(pkg("BASIC", 100, 3, -1)), "packages"},
		{"short title", set("title", "Logo"), "title"},
		{"empty description", set("description", "  "), "description"},
		{"unknown category", set("categoryId", "00000000-0000-0000-0000-000000000001"), "categoryId"},
		{"malformed category", set("categoryId", "logo"), "categoryId"},
		{"bad currency", set("currency", "usd"), "currency"},
		{"too many tags", set("tags", []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}), "tags"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(e.as(freelancer), createGigMutation, map[string]any{"input": e.gigInput("A valid gig title", c.mod)})
			require.Equal(t, "BAD_USER_INPUT", r.Code(t))
			require.Equal(t, c.field, r.Field(t))
		})
	}
	// The boundaries themselves are fine.
	e.createGig(freelancer, "Boundary packages", "", packages(pkg("BASIC", 1, 1, 0), pkg("STANDARD", 2, 90, 0), pkg("PREMIUM", 3, 45, 7)))
}

func TestGigVisibilityAndOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, buyer, other, staff := e.cast()
	id := e.createGig(owner, "Illustrations for children's books", "")
	visible := func(p *person) bool {
		c := e.Anonymous()
		if p != nil {
			c = e.as(*p)
		}
		r := e.Do(c, gigQuery, map[string]any{"id": id}).NoErrors(t)
		return r.Data["gig"] != nil
	}
	// A draft: its freelancer and STAFF only.
	require.False(t, visible(nil))
	require.False(t, visible(&buyer))
	require.False(t, visible(&other))
	require.True(t, visible(&owner))
	require.True(t, visible(&staff))

	// Changing someone else's draft: it does not exist for them.
	update := `mutation($id: ID!, $in: UpdateGigInput!) { updateGig(id: $id, input: $in) { id title tags packages { tier priceCents } startingPriceCents } }`
	status := `mutation($id: ID!, $s: GigStatus!) { setGigStatus(id: $id, status: $s) { id status } }`
	del := `mutation($id: ID!) { deleteGig(id: $id) }`
	require.Equal(t, "NOT_FOUND", e.Do(e.as(other), update, map[string]any{"id": id, "in": map[string]any{"title": "Mine now, all mine"}}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), status, map[string]any{"id": id, "s": "ACTIVE"}).Code(t))

	e.Do(e.as(owner), status, map[string]any{"id": id, "s": "ACTIVE"}).NoErrors(t)
	require.True(t, visible(nil), "ACTIVE gigs are public")
	require.True(t, visible(&buyer))

	// Visible now, but still not theirs.
	require.Equal(t, "FORBIDDEN", e.Do(e.as(other), update, map[string]any{"id": id, "in": map[string]any{"title": "Mine now, all mine"}}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(other), status, map[string]any{"id": id, "s": "PAUSED"}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(buyer), del, map[string]any{"id": id}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), del, map[string]any{"id": id}).Code(t))

	// The owner edits; packages, when given, replace all of them.
	r := e.Do(e.as(owner), update, map[string]any{"id": id, "in": map[string]any{
		"title": "Illustrations for picture books", "tags": []any{" Picture Books ", "picture books", "kids"},
		"packages": []any{map[string]any{"tier": "PREMIUM", "title": "Full book", "priceCents": 120000, "deliveryDays": 30, "revisions": 3}},
	}}).NoErrors(t)
	g := r.Data["updateGig"].(map[string]any)
	require.Equal(t, "Illustrations for picture books", g["title"])
	require.Equal(t, []any{"picture books", "kids"}, g["tags"], "tags are normalised and de-duplicated")
	require.Len(t, g["packages"], 1)
	require.EqualValues(t, 120000, g["startingPriceCents"])

	// STAFF may change anyone's gig.
	r = e.Do(e.as(staff), status, map[string]any{"id": id, "s": "PAUSED"}).NoErrors(t)
	require.Equal(t, "PAUSED", field(r.Data, "setGigStatus", "status"))
	require.False(t, visible(nil), "paused gigs leave the catalogue")
	require.True(t, visible(&owner))

	// Deleting is soft, and then the gig is gone for everyone.
	require.Equal(t, true, e.Do(e.as(owner), del, map[string]any{"id": id}).NoErrors(t).Data["deleteGig"])
	require.False(t, visible(&owner))
	require.False(t, visible(&staff))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(owner), del, map[string]any{"id": id}).Code(t))
	var deleted bool
	require.NoError(t, e.DB.QueryRow(t.Context(), "SELECT deleted_at IS NOT NULL FROM gigs WHERE id = $1", id).Scan(&deleted))
	require.True(t, deleted, "the row stays for past orders")
}

func TestGigCategories(t *testing.T) {
	t.Parallel()
	e := setup(t)
	freelancer, _, _, staff := e.cast()
	r := e.Do(e.Anonymous(), `{ gigCategories { id slug name parent { slug } children { slug } } }`, nil).NoErrors(t)
	all := r.Data["gigCategories"].([]any)
	require.Len(t, all, len(e.categories))
	seen := map[string]bool{}
	for _, c := range all {
		if parent := field(c, "parent", "slug"); parent != nil {
			require.True(t, seen[parent.(string)], "parents come before their children")
		}
		seen[field(c, "slug").(string)] = true
	}
	require.Equal(t, "graphics-design", field(all[0], "slug"))

	create := `mutation($in: CreateGigCategoryInput!) { createGigCategory(input: $in) { id slug name parent { slug } } }`
	in := map[string]any{"in": map[string]any{"name": "Pixel Art", "parentId": e.categories["illustration"]}}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), create, in).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(freelancer), create, in).Code(t))
	c := e.Do(e.as(staff), create, in).NoErrors(t).Data["createGigCategory"]
	require.Equal(t, "pixel-art", field(c, "slug"))
	require.Equal(t, "illustration", field(c, "parent", "slug"))
	r = e.Do(e.as(staff), create, in)
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "slug", r.Field(t))
	r = e.Do(e.as(staff), create, map[string]any{"in": map[string]any{"name": "Nowhere", "parentId": "00000000-0000-0000-0000-000000000001"}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
}

func TestEntitiesAreRouterOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson("FREELANCER")
	active := e.createGig(owner, "Responsive landing pages", "ACTIVE")
	draft := e.createGig(owner, "A draft nobody sees yet", "")
	q := `query($r: [_Any!]!) { _entities(representations: $r) { ... on Gig { id title } } }`
	reps := map[string]any{"r": []any{
		map[string]any{"__typename": "Gig", "id": active},
		map[string]any{"__typename": "Gig", "id": draft},
		map[string]any{"__typename": "Gig", "id": "not-a-uuid"},
	}}
	require.Equal(t, "FORBIDDEN", e.Do(e.Direct(), q, reps).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.Direct(), `{ _service { sdl } }`, nil).Code(t))
	list := e.Do(e.Anonymous(), q, reps).NoErrors(t).Data["_entities"].([]any)
	require.Len(t, list, 3)
	require.Equal(t, active, field(list[0], "id"))
	require.Nil(t, list[1], "drafts are hidden from others")
	require.Nil(t, list[2])
	list = e.Do(e.as(owner), q, reps).NoErrors(t).Data["_entities"].([]any)
	require.Equal(t, draft, field(list[1], "id"), "the owner sees their draft")
}
