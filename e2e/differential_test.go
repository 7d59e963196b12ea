package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"supergraph/platform/identity"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
	"supergraph/router/testgraph/opgen"
)

// Differential tests of the router against the subgraphs: the router must
// answer every request exactly as the subgraph owning the operation answers
// the same operation with the same variables for the same user, whatever
// other users send at the same time, over every transport. Any value that one
// request leaves in a cache keyed by the document (prepared operations,
// plans, persisted queries, de-duplication) and that reaches another request
// shows up as a difference.

// diffUser is a signed-up user of the fixture and what they own.
type diffUser struct {
	account
	idx           int
	roles         []string
	gigs          []string // ids of their gigs
	notifications []string // ids of their notifications
}

// diffFixture is a platform with users, gigs, orders and notifications that
// stay put while queries are compared.
type diffFixture struct {
	p          *platform
	users      []*diffUser
	categories []string
	gigs       []string
	notes      []string // every user's notification ids
	orders     []string
	signer     *identity.Signer
}

var (
	diffTitles = []string{"Logo design", "Vector mascot", "Website landing page", "Brand identity"}
	diffStyles = []string{"minimal", "retro"}
	diffTags   = []string{"logo", "web", "print"}
	diffWords  = []string{"logo", "mascot", "website", "brand", "minimal", "retro", "zzzznotfound"}
)

func newDiffFixture(t *testing.T) *diffFixture {
	p := startPlatform(t)
	f := &diffFixture{p: p, signer: identity.NewSigner(p.routerKey)}
	for _, c := range p.ok("", `{ gigCategories { id } }`, nil)["gigCategories"].([]any) {
		f.categories = append(f.categories, c.(map[string]any)["id"].(string))
	}
	require.NotEmpty(t, f.categories)
	for i, name := range []string{"diffana", "diffbea", "diffcid", "diffdan"} {
		roles := []string{"FREELANCER"}
		if i%2 == 1 {
			roles = append(roles, "SELLER")
		}
		f.users = append(f.users, &diffUser{account: p.register(name, roles...), idx: i, roles: roles})
	}
	for k := range 2 * len(f.users) {
		u := f.users[k%len(f.users)]
		in := map[string]any{
			"title":       diffTitles[k%len(diffTitles)] + " " + diffStyles[k/len(diffTitles)] + " by " + u.Username,
			"description": "A " + diffStyles[k/len(diffTitles)] + " piece of work for your " + diffTags[k%len(diffTags)] + " needs.",
			"categoryId":  f.categories[k%len(f.categories)],
			"tags":        []any{diffTags[k%len(diffTags)]}, "status": "ACTIVE",
			"packages": []any{
				map[string]any{"tier": "BASIC", "title": "Basic", "priceCents": 3000 + 1500*k, "deliveryDays": 1 + k%5, "revisions": 1},
				map[string]any{"tier": "STANDARD", "title": "Standard", "priceCents": 9000 + 1500*k, "deliveryDays": 3 + k%5, "revisions": 2},
			},
		}
		d := p.ok(u.Token, `mutation($in: CreateGigInput!) { createGig(input: $in) { id } }`, map[string]any{"in": in})
		id := dig(d, "createGig", "id").(string)
		u.gigs = append(u.gigs, id)
		f.gigs = append(f.gigs, id)
	}
	// Each user orders the next one's first gig: everyone is a buyer and a
	// freelancer once, and gets an ORDER_PLACED notification.
	for i, u := range f.users {
		next := f.users[(i+1)%len(f.users)]
		d := p.ok(u.Token, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`, map[string]any{"in": map[string]any{"gigId": next.gigs[0], "tier": "BASIC"}})
		f.orders = append(f.orders, dig(d, "placeOrder", "id").(string))
	}
	for _, u := range f.users {
		p.waitNotification(u.Token, tasks.KindOrderPlaced)
		p.waitNotification(u.Token, "WELCOME")
		for _, n := range p.notificationNodes(u.Token) {
			u.notifications = append(u.notifications, n["id"].(string))
			f.notes = append(f.notes, n["id"].(string))
		}
	}
	return f
}

// pick returns one of values, chosen by user and round so that every user
// and every round asks for something else.
func pick[T any](values []T, u *diffUser, round int) T {
	return values[(u.idx*7+round*3)%len(values)]
}

// diffCase is one document of the table.
type diffCase struct {
	name string
	// subgraph owns every field of the document: its own answer is the
	// expectation. Empty when expect or check is given.
	subgraph string
	query    string
	// opNames name the operation to run, by round (documents with several).
	opNames []string
	vars    func(u *diffUser, round int) map[string]any
	// expect builds the expected data by asking the subgraphs (cross-subgraph queries).
	expect func(f *diffFixture, u *diffUser, vars map[string]any) (map[string]any, error)
	// uniform marks a document whose answers do not depend on its values
	// (every user is refused it alike).
	uniform bool
	// check judges a mutation's answer by hand.
	check func(f *diffFixture, u *diffUser, vars map[string]any, data map[string]any) error
}

func (c diffCase) mutation() bool { return c.check != nil }

func (c diffCase) opName(round int) string {
	if len(c.opNames) == 0 {
		return ""
	}
	return c.opNames[round%len(c.opNames)]
}

const gigPage = `edges { node { id title startingPriceCents } } pageInfo { hasNextPage }`

// diffQueries are the documents compared with the subgraphs' own answers:
// variables inside input-object literals, whole-object variables, enums,
// defaults, @skip/@include, fragments, aliases and operation names.
func diffQueries(f *diffFixture) []diffCase {
	search := func(u *diffUser, r int) map[string]any { return map[string]any{"s": pick(diffWords, u, r)} }
	return []diffCase{
		{name: "search inside a literal", subgraph: "freelance", vars: search,
			query: `query Q($s: String) { gigs(filter: {search: $s, maxPriceCents: 100000000}, first: 3) { edges { node { title } } } }`},
		{name: "every filter field a variable", subgraph: "freelance",
			query: `query($s: String, $m: Int) { gigs(filter: {search: $s, maxPriceCents: $m}) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(diffWords, u, r), "m": pick([]int{4000, 9000, 100000000}, u, r)}
			}},
		{name: "whole filter variable", subgraph: "freelance",
			query: `query($f: GigFilter) { gigs(filter: $f, first: 5) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"f": map[string]any{"search": pick(diffWords, u, r), "minPriceCents": pick([]int{0, 5000, 8000}, u, r+1)}}
			}},
		{name: "enum variable beside a literal", subgraph: "freelance",
			query: `query($c: ID, $sort: GigSort) { gigs(filter: {categoryId: $c}, sort: $sort, first: 10) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"c": pick(f.categories, u, r), "sort": pick([]string{"NEWEST", "PRICE_ASC", "PRICE_DESC", "RATING"}, u, r)}
			}},
		{name: "freelancer filter", subgraph: "freelance",
			query: `query($id: ID) { gigs(filter: {freelancerId: $id}, sort: PRICE_ASC) { ` + gigPage + ` } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"id": pick(f.users, u, r).ID} }},
		{name: "price range and delivery", subgraph: "freelance",
			query: `query($lo: Int, $hi: Int, $d: Int) { gigs(filter: {minPriceCents: $lo, maxPriceCents: $hi, maxDeliveryDays: $d}, sort: PRICE_DESC, first: 10) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"lo": pick([]int{0, 4000, 6000, 9000}, u, r), "hi": pick([]int{7000, 12000, 20000}, u, r), "d": pick([]int{1, 3, 5}, u, r)}
			}},
		{name: "tag and page size", subgraph: "freelance",
			query: `query($t: String, $n: Int) { gigs(filter: {tag: $t}, first: $n) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"t": pick(diffTags, u, r), "n": pick([]int{1, 2, 3}, u, r)}
			}},
		{name: "a gig by id", subgraph: "freelance",
			query: `query($id: ID!) { gig(id: $id) { id title tags packages { tier priceCents deliveryDays } freelancer { id } } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"id": pick(f.gigs, u, r)} }},
		{name: "equal literals under aliases", subgraph: "freelance",
			query: `query($s: String) { a: gigs(filter: {search: $s}, first: 2) { ` + gigPage + ` } b: gigs(filter: {search: "logo"}, first: 2) { ` + gigPage + ` } }`,
			vars:  search},
		{name: "one variable in two literals", subgraph: "freelance",
			query: `query($m: Int) { cheap: gigs(filter: {maxPriceCents: $m}) { ` + gigPage + ` } dear: gigs(filter: {minPriceCents: $m}) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"m": pick([]int{4000, 7000, 10000}, u, r)}
			}},
		{name: "fragment on the connection", subgraph: "freelance", vars: search,
			query: `query Q($s: String) { gigs(filter: {search: $s}) { ...Page } } fragment Page on GigConnection { edges { node { title } } }`},
		{name: "fragment holding the literal", subgraph: "freelance",
			query: `query($s: String, $t: String) { ...G } fragment G on Query { gigs(filter: {search: $s, tag: $t}) { edges { node { title tags } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(diffWords, u, r), "t": pick(diffTags, u, r)}
			}},
		{name: "include and skip on variables", subgraph: "freelance",
			query: `query($s: String, $d: Boolean!, $k: Boolean!) { gigs(filter: {search: $s}, first: 4) { edges { node { title description @include(if: $d) tags @skip(if: $k) } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(diffWords, u, r), "d": (u.idx+r)%2 == 0, "k": (u.idx+r)%3 == 0}
			}},
		{name: "inline fragment under include", subgraph: "freelance",
			query: `query($s: String, $i: Boolean!) { gigs(filter: {search: $s}) { edges { node { id ... on Gig @include(if: $i) { title } } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(diffWords, u, r), "i": (u.idx+r)%2 == 1}
			}},
		{name: "default values, given or not", subgraph: "freelance",
			query: `query($s: String = "logo", $n: Int = 2) { gigs(filter: {search: $s}, first: $n) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				switch (u.idx + r) % 3 {
				case 0:
					return map[string]any{}
				case 1:
					return map[string]any{"s": pick(diffWords, u, r)}
				}
				return map[string]any{"s": pick(diffWords, u, r), "n": 1}
			}},
		{name: "enum default", subgraph: "freelance",
			query: `query($m: Int, $sort: GigSort = PRICE_ASC) { gigs(filter: {maxPriceCents: $m}, sort: $sort, first: 4) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				v := map[string]any{"m": pick([]int{6000, 12000, 100000000}, u, r)}
				if (u.idx+r)%2 == 1 {
					v["sort"] = "NEWEST"
				}
				return v
			}},
		{name: "operation chosen by name", subgraph: "freelance", opNames: []string{"A", "B", "A"},
			query: `query A($s: String) { gigs(filter: {search: $s}) { edges { node { title } } } } query B($m: Int) { gigs(filter: {maxPriceCents: $m}) { edges { node { startingPriceCents } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(diffWords, u, r), "m": pick([]int{5000, 9000}, u, r)}
			}},
		{name: "every filter field at once", subgraph: "freelance",
			query: `query($s: String, $c: ID, $f: ID, $lo: Int, $hi: Int, $d: Int, $t: String) { gigs(filter: {search: $s, categoryId: $c, freelancerId: $f, minPriceCents: $lo, maxPriceCents: $hi, maxDeliveryDays: $d, tag: $t}) { ` + gigPage + ` } }`,
			vars: func(u *diffUser, r int) map[string]any {
				v := map[string]any{"s": nil, "c": nil, "f": pick(f.users, u, r).ID, "lo": 0, "hi": 100000000, "d": 10, "t": nil}
				if r == 1 {
					v["t"] = pick(diffTags, u, r)
				}
				return v
			}},
		{name: "categories", subgraph: "freelance",
			query: `query($x: Boolean!) { gigCategories { id slug name @include(if: $x) } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"x": (u.idx+r)%2 == 0} }},
		{name: "a user by id", subgraph: "users",
			query: `query($id: ID!) { user(id: $id) { id username displayName roles } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"id": pick(f.users, u, r).ID} }},
		{name: "private field on a variable user", subgraph: "users",
			query: `query($id: ID!, $e: Boolean!) { user(id: $id) { id email @include(if: $e) profile { bio skills } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"id": pick(f.users, u, r+1).ID, "e": r != 1}
			}},
		{name: "a user by name", subgraph: "users",
			query: `query($n: String!) { found: userByUsername(username: $n) { id username } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"n": pick(f.users, u, r).Username} }},
		{name: "me", subgraph: "users",
			query: `query Me($r: Boolean!) { me { id username email roles @include(if: $r) } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"r": r%2 == 0} }},
		{name: "staff-only list", subgraph: "users", uniform: true,
			query: `query($s: String, $role: Role) { users(first: 5, search: $s, role: $role) { edges { node { id } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"s": pick(f.users, u, r).Username, "role": "FREELANCER"}
			}},
		{name: "a notification by id", subgraph: "notifications",
			query: `query($id: ID!) { notification(id: $id) { id kind title recipient { id } } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"id": pick(f.notes, u, r)} }},
		{name: "own notifications", expect: f.meEntity("notifications", "notifications(first: $n, unreadOnly: $u) { edges { node { id kind } } }", "$n: Int, $u: Boolean"),
			query: `query($n: Int, $u: Boolean) { me { id notifications(first: $n, unreadOnly: $u) { edges { node { id kind } } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"n": pick([]int{1, 2, 5}, u, r), "u": r == 2}
			}},
		{name: "own orders", expect: f.meEntity("freelance", "orders(role: $role, status: $s) { edges { node { id status tier } } }", "$role: OrderRole, $s: OrderStatus"),
			query: `query($role: OrderRole, $s: OrderStatus) { me { id orders(role: $role, status: $s) { edges { node { id status tier } } } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"role": pick([]any{"BUYER", "FREELANCER", nil}, u, r), "s": pick([]any{nil, "PENDING", "COMPLETED"}, u, r)}
			}},
		{name: "own counters and preferences", expect: f.meEntity("notifications", "unreadNotificationCount @include(if: $c) notificationPreferences { email mutedKinds }", "$c: Boolean!"),
			query: `query($c: Boolean!) { me { id unreadNotificationCount @include(if: $c) notificationPreferences { email mutedKinds } } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"c": (u.idx+r)%2 == 0} }},
	}
}

// meEntity expects { me { id <selection> } } with the selection answered by
// subgraph for the user entity.
func (f *diffFixture) meEntity(subgraph, selection, defs string) func(*diffFixture, *diffUser, map[string]any) (map[string]any, error) {
	return func(f *diffFixture, u *diffUser, vars map[string]any) (map[string]any, error) {
		q := `query(` + defs + `, $reps: [_Any!]!) { _entities(representations: $reps) { ... on User { ` + selection + ` } } }`
		v := map[string]any{"reps": []any{map[string]any{"__typename": "User", "id": u.ID}}}
		for k, x := range vars {
			v[k] = x
		}
		r, err := f.direct(subgraph, u, q, "", v)
		if err != nil {
			return nil, err
		}
		if len(r.Errors) > 0 {
			return nil, fmt.Errorf("%s: %+v", subgraph, r.Errors)
		}
		me, _ := dig(r.Data, "_entities", 0).(map[string]any)
		if me == nil {
			return nil, fmt.Errorf("%s has no entity for %s: %v", subgraph, u.ID, r.Data)
		}
		me["id"] = u.ID
		return map[string]any{"me": me}, nil
	}
}

// diffMutations are checked by hand: every answer must carry the asker's
// own values and identity.
func diffMutations(f *diffFixture) []diffCase {
	stamp := func(u *diffUser, r int) string { return fmt.Sprintf("%s-%d-%d", u.Username, r, rand.IntN(1e9)) }
	return []diffCase{
		{name: "profile bio inside a literal",
			query: `mutation($b: String) { updateProfile(input: {bio: $b, location: "Lisbon"}) { id profile { bio location } } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"b": stamp(u, r)} },
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "updateProfile", map[string]any{"id": u.ID, "profile": map[string]any{"bio": v["b"], "location": "Lisbon"}})
			}},
		{name: "variables inside a list literal", opNames: []string{"Skills"},
			query: `mutation Skills($a: String!, $b: String!) { updateProfile(input: {skills: [$a, "go", $b]}) { id profile { skills } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"a": "a" + stamp(u, r), "b": "b" + stamp(u, r)}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "updateProfile", map[string]any{"id": u.ID, "profile": map[string]any{"skills": []any{v["a"], "go", v["b"]}}})
			}},
		{name: "whole input variable",
			query: `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { id displayName } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"in": map[string]any{"displayName": stamp(u, r)}}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "updateProfile", map[string]any{"id": u.ID, "displayName": v["in"].(map[string]any)["displayName"]})
			}},
		{name: "fragment and alias around the literal", opNames: []string{"Site"},
			query: `mutation Site($w: String) { ...P } fragment P on Mutation { site: updateProfile(input: {website: $w}) { id profile { website } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"w": "https://example.com/" + stamp(u, r)}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "site", map[string]any{"id": u.ID, "profile": map[string]any{"website": v["w"]}})
			}},
		{name: "order on the gig asked for",
			query: `mutation($g: ID!) { placeOrder(input: {gigId: $g, tier: BASIC}) { gig { id } buyer { id } tier } }`,
			vars:  func(u *diffUser, r int) map[string]any { return map[string]any{"g": f.othersGig(u, r)} },
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "placeOrder", map[string]any{"gig": map[string]any{"id": v["g"]}, "buyer": map[string]any{"id": u.ID}, "tier": "BASIC"})
			}},
		{name: "order with every field a variable",
			query: `mutation($g: ID!, $t: PackageTier!, $r: String) { placeOrder(input: {gigId: $g, tier: $t, requirements: $r}) { gig { id } buyer { id } tier requirements } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"g": f.othersGig(u, r+1), "t": pick([]string{"BASIC", "STANDARD"}, u, r), "r": stamp(u, r)}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "placeOrder", map[string]any{"gig": map[string]any{"id": v["g"]}, "buyer": map[string]any{"id": u.ID}, "tier": v["t"], "requirements": v["r"]})
			}},
		{name: "preferences with a list literal",
			query: `mutation($k: String!, $e: Boolean) { updateNotificationPreferences(input: {mutedKinds: [$k], email: $e}) { mutedKinds email } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"k": pick([]string{tasks.KindOrderPlaced, tasks.KindOrderStarted, tasks.KindOrderDelivered}, u, r), "e": (u.idx+r)%2 == 0}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "updateNotificationPreferences", map[string]any{"mutedKinds": []any{v["k"]}, "email": v["e"]})
			}},
		{name: "gig with variables in a list of objects",
			query: `mutation($t: String!, $c: ID!, $p: Int!, $tag: String!) { createGig(input: {title: $t, description: "Made in the differential test.", categoryId: $c, tags: ["diff", $tag], packages: [{tier: BASIC, title: "Basic", priceCents: $p, deliveryDays: 2, revisions: 1}]}) { title tags freelancer { id } packages { tier priceCents } } }`,
			vars: func(u *diffUser, r int) map[string]any {
				return map[string]any{"t": "Gig " + stamp(u, r), "c": pick(f.categories, u, r), "p": 1000 + 100*u.idx + 10*r + rand.IntN(10), "tag": "t" + fmt.Sprint(u.idx*10+r)}
			},
			check: func(_ *diffFixture, u *diffUser, v, d map[string]any) error {
				return expectFields(d, "createGig", map[string]any{
					"title": v["t"], "tags": []any{"diff", v["tag"]}, "freelancer": map[string]any{"id": u.ID},
					"packages": []any{map[string]any{"tier": "BASIC", "priceCents": float64(v["p"].(int))}},
				})
			}},
	}
}

// othersGig is a gig of another user than u (nobody may order their own).
func (f *diffFixture) othersGig(u *diffUser, round int) string {
	other := f.users[(u.idx+1+round%(len(f.users)-1))%len(f.users)]
	return other.gigs[round%len(other.gigs)]
}

// expectFields requires data[field] to equal want (compared as JSON).
func expectFields(data map[string]any, field string, want map[string]any) error {
	got := data[field]
	if !jsonEqual(got, want) {
		return fmt.Errorf("%s: want %s, got %s", field, jsonText(want), jsonText(got))
	}
	return nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonEqual compares two values as JSON documents.
func jsonEqual(a, b any) bool {
	var x, y any
	_ = json.Unmarshal([]byte(jsonText(a)), &x)
	_ = json.Unmarshal([]byte(jsonText(b)), &y)
	return reflect.DeepEqual(x, y)
}

// direct sends a request to subgraph as the router would on u's behalf.
func (f *diffFixture) direct(subgraph string, u *diffUser, query, opName string, vars map[string]any) (gqlResponse, error) {
	base := map[string]string{"users": f.p.usersURL, "notifications": f.p.notificationsURL, "freelance": f.p.freelanceURL}[subgraph]
	assertion, err := f.signer.Sign(identity.Principal{UserID: u.ID, Roles: u.roles}, subgraph)
	if err != nil {
		return gqlResponse{}, err
	}
	body, _ := json.Marshal(map[string]any{"query": query, "operationName": opName, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(identity.Header, assertion)
	return doJSON(req)
}

// wireRequest is one GraphQL request as a client sends it.
type wireRequest struct {
	Query         string         `json:"query,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
	Extensions    map[string]any `json:"extensions,omitempty"`
}

// transport sends requests of one user to the router one way and returns
// one answer per request.
type transport struct {
	name      string
	mutations bool // whether it may carry mutations
	send      func(ctx context.Context, u *diffUser, reqs []wireRequest) ([]gqlResponse, error)
}

func (f *diffFixture) transports(t *testing.T) []transport {
	ws := map[string]*subgraphtest.WS{}
	for _, u := range f.users {
		ws[u.ID] = subgraphtest.DialWSWith(t, f.p.url, map[string]any{"Authorization": "Bearer " + u.Token})
	}
	one := func(send func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error)) func(context.Context, *diffUser, []wireRequest) ([]gqlResponse, error) {
		return func(ctx context.Context, u *diffUser, reqs []wireRequest) ([]gqlResponse, error) {
			var out []gqlResponse
			for _, r := range reqs {
				resp, err := send(ctx, u, r)
				if err != nil {
					return nil, err
				}
				out = append(out, resp)
			}
			return out, nil
		}
	}
	return []transport{
		{name: "POST", mutations: true, send: one(func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error) {
			return f.routerPost(ctx, u, r, "application/json")
		})},
		{name: "GET", send: one(func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error) {
			q := url.Values{"query": {r.Query}}
			if r.OperationName != "" {
				q.Set("operationName", r.OperationName)
			}
			if r.Variables != nil {
				q.Set("variables", jsonText(r.Variables))
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.p.url+"/graphql?"+q.Encode(), nil)
			if err != nil {
				return gqlResponse{}, err
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.Token)
			return doJSON(req)
		})},
		{name: "APQ", mutations: true, send: one(func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error) {
			sum := sha256.Sum256([]byte(r.Query))
			query := r.Query
			r.Query = ""
			r.Extensions = map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
			resp, err := f.routerPost(ctx, u, r, "application/json")
			if err != nil || !slices.Contains(resp.codes(), "PERSISTED_QUERY_NOT_FOUND") {
				return resp, err
			}
			r.Query = query
			return f.routerPost(ctx, u, r, "application/json")
		})},
		{name: "batch", mutations: true, send: func(ctx context.Context, u *diffUser, reqs []wireRequest) ([]gqlResponse, error) {
			body, _ := json.Marshal(reqs)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.p.url+"/graphql", bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			var out []gqlResponse
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return nil, fmt.Errorf("batch status %d: %w", resp.StatusCode, err)
			}
			if len(out) != len(reqs) {
				return nil, fmt.Errorf("batch of %d answered with %d results", len(reqs), len(out))
			}
			return out, nil
		}},
		{name: "SSE", mutations: true, send: one(func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error) {
			return f.routerPost(ctx, u, r, "text/event-stream")
		})},
		{name: "WebSocket", mutations: true, send: one(func(ctx context.Context, u *diffUser, r wireRequest) (gqlResponse, error) {
			payload := map[string]any{"query": r.Query, "variables": r.Variables}
			if r.OperationName != "" {
				payload["operationName"] = r.OperationName
			}
			resp, err := ws[u.ID].Exec(ctx, payload)
			if err != nil {
				return gqlResponse{}, err
			}
			out := gqlResponse{Status: http.StatusOK, Data: resp.Data}
			for _, e := range resp.Errors {
				out.Errors = append(out.Errors, gqlError{Message: e.Message, Path: e.Path, Extensions: e.Extensions})
			}
			return out, nil
		})},
	}
}

// routerPost posts r as u, accepting accept (JSON or an event stream, whose
// single "next" event is the answer).
func (f *diffFixture) routerPost(ctx context.Context, u *diffUser, r wireRequest, accept string) (gqlResponse, error) {
	body, _ := json.Marshal(r)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.p.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", "Bearer "+u.Token)
	if accept == "application/json" {
		return doJSON(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		var out gqlResponse
		err := json.NewDecoder(resp.Body).Decode(&out)
		out.Status = resp.StatusCode
		return out, err
	}
	var out gqlResponse
	var event string
	var data strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		case line == "":
			switch event {
			case "next":
				if err := json.Unmarshal([]byte(data.String()), &out); err != nil {
					return out, fmt.Errorf("next event %q: %w", data.String(), err)
				}
			case "complete":
				out.Status = resp.StatusCode
				return out, nil
			}
			event = ""
			data.Reset()
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		return out, err
	}
	return out, fmt.Errorf("the event stream ended without complete")
}

// job is one user's requests of one document over one transport.
type job struct {
	c     diffCase
	u     *diffUser
	tr    transport
	reqs  []wireRequest
	wants []gqlResponse // the subgraphs' answers per request (queries)
}

// TestRouterAgreesWithSubgraphs sends a table of documents, each three
// times with other values, from four users at once over POST, GET, APQ,
// batches, SSE and WebSockets, and compares every answer with what the
// owning subgraph answers for the same operation and variables (or, for
// mutations, with the values the asker sent).
func TestRouterAgreesWithSubgraphs(t *testing.T) {
	f := newDiffFixture(t)
	queries, mutations := diffQueries(f), diffMutations(f)
	require.GreaterOrEqual(t, len(queries)+len(mutations), 30)
	transports := f.transports(t)

	t.Run("queries", func(t *testing.T) {
		wants := f.expectations(t, queries)
		// A document proves something only when its answers depend on its values.
		for i, c := range queries {
			answers := map[string]bool{}
			for _, want := range wants[i] {
				answers[jsonText(want)] = true
			}
			require.True(t, c.uniform || len(answers) > 1, "%s: every user and round gets the same answer %v", c.name, answers)
		}
		f.compare(t, transports, queries, wants)
	})

	// Mutations: one goroutine per user (a user's own updates would race
	// with each other), all users at once.
	var jobs []job
	for _, tr := range transports {
		if !tr.mutations {
			continue
		}
		for _, c := range mutations {
			for _, u := range f.users {
				j := job{c: c, u: u, tr: tr}
				for r := range diffRounds {
					j.reqs = append(j.reqs, wireRequest{Query: c.query, OperationName: c.opName(r), Variables: c.vars(u, r)})
				}
				jobs = append(jobs, j)
			}
		}
	}
	t.Run("mutations", func(t *testing.T) {
		runJobs(t, jobs, func(j job, i int, got gqlResponse) error {
			if len(got.Errors) > 0 {
				return fmt.Errorf("errors: %+v", got.Errors)
			}
			return j.c.check(f, j.u, j.reqs[i].Variables, got.Data)
		})
	})
}

// diffRounds is how many times each user sends each document, with other values.
const diffRounds = 3

// expectations asks the subgraphs what every user's rounds of every query
// should answer, before the router is asked anything: [case][user*rounds+round].
func (f *diffFixture) expectations(t *testing.T, queries []diffCase) [][]gqlResponse {
	out := make([][]gqlResponse, len(queries))
	for i, c := range queries {
		for _, u := range f.users {
			for r := range diffRounds {
				vars := c.vars(u, r)
				var want gqlResponse
				if c.expect != nil {
					data, err := c.expect(f, u, vars)
					require.NoError(t, err, c.name)
					want = gqlResponse{Data: data}
				} else {
					var err error
					want, err = f.direct(c.subgraph, u, c.query, c.opName(r), vars)
					require.NoError(t, err, c.name)
				}
				out[i] = append(out[i], want)
			}
		}
	}
	return out
}

// compare sends every query of every user over every transport, all at
// once, and requires the expected answers (data and error codes).
func (f *diffFixture) compare(t *testing.T, transports []transport, queries []diffCase, wants [][]gqlResponse) {
	var jobs []job
	for _, tr := range transports {
		for i, c := range queries {
			for _, u := range f.users {
				j := job{c: c, u: u, tr: tr}
				for r := range diffRounds {
					j.reqs = append(j.reqs, wireRequest{Query: c.query, OperationName: c.opName(r), Variables: c.vars(u, r)})
					j.wants = append(j.wants, wants[i][u.idx*diffRounds+r])
				}
				jobs = append(jobs, j)
			}
		}
	}
	runJobs(t, jobs, func(j job, i int, got gqlResponse) error {
		want := j.wants[i]
		if !jsonEqual(got.Data, want.Data) || !slices.Equal(sortedCodes(got), sortedCodes(want)) {
			return fmt.Errorf("want %s %v\ngot  %s %v", jsonText(want.Data), sortedCodes(want), jsonText(got.Data), sortedCodes(got))
		}
		return nil
	})
}

// runJobs runs jobs in a shuffled order, one goroutine per user (and, for
// queries, per transport), and checks every answer.
func runJobs(t *testing.T, jobs []job, check func(j job, i int, got gqlResponse) error) {
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	rnd.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	lanes := map[string][]job{}
	for _, j := range jobs {
		lane := j.u.Username
		if !j.c.mutation() {
			lane += "/" + j.tr.name
		}
		lanes[lane] = append(lanes[lane], j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for _, lane := range lanes {
		wg.Go(func() {
			for _, j := range lane {
				got, err := j.tr.send(ctx, j.u, j.reqs)
				for i := range j.reqs {
					if err == nil {
						err = check(j, i, got[i])
					}
					if err != nil {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s over %s as %s, variables %s: %v", j.c.name, j.tr.name, j.u.Username, jsonText(j.reqs[i].Variables), err))
						mu.Unlock()
						break
					}
				}
			}
		})
	}
	wg.Wait()
	for _, msg := range failures {
		t.Error(msg)
	}
	t.Logf("%d (document, user, transport) jobs in %d lanes: %d requests", len(jobs), len(lanes), diffRounds*len(jobs))
}

func sortedCodes(r gqlResponse) []string {
	c := r.codes()
	slices.Sort(c)
	return c
}

// TestRouterAgreesWithSubgraphsOnGeneratedOperations is the randomized
// version: operations generated over the live schema (each subgraph's root
// fields with their arguments in literal, variable and nested-variable
// positions, selections of that subgraph's own fields), each sent three times
// with other random values by every user over every transport, compared with
// the owning subgraph's answers. Seeded: DIFF_SEED reproduces a run.
func TestRouterAgreesWithSubgraphsOnGeneratedOperations(t *testing.T) {
	f := newDiffFixture(t)
	seed := uint64(20261205)
	if s := os.Getenv("DIFF_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "DIFF_SEED")
	}
	t.Logf("DIFF_SEED=%d", seed)

	sdl, err := os.ReadFile("../graph/supergraph.graphql")
	require.NoError(t, err)
	schema, gerr := gqlparser.LoadSchema(&gqlast.Source{Name: "supergraph.graphql", Input: string(sdl)})
	require.NoError(t, gerr)
	var ids, usernames []any
	for _, u := range f.users {
		ids = append(ids, u.ID)
		usernames = append(usernames, u.Username)
	}
	pools := opgen.Pools{ByName: map[string][]any{
		"Query.gig.id": anys(f.gigs), "Query.order.id": anys(f.orders), "Query.notification.id": anys(f.notes),
		"Query.user.id": ids, "Query.userByUsername.username": append(usernames, "nobody"),
		"search": anys(diffWords), "GigFilter.categoryId": anys(f.categories), "GigFilter.freelancerId": ids,
		"GigFilter.tag": anys(diffTags), "minPriceCents": {0, 4000, 8000, 12000}, "maxPriceCents": {5000, 9000, 20000},
		"maxDeliveryDays": {1, 3, 7}, "first": {1, 2, 3, 5}, "after": {nil},
	}}

	var cases []diffCase
	for _, subgraph := range []string{"users", "notifications", "freelance"} {
		gen := opgen.New(schema, seed, pools)
		gen.MaxDepth = 3
		gen.Skip = notOwnedBy(t, schema, subgraph)
		// Fields the worker changes on its own while the test runs (a
		// notification's delivery goes from QUEUED to SENT between the
		// subgraph's answer and the router's) cannot be compared.
		gen.Skip["Notification.emailStatus"], gen.Skip["Notification.pushStatus"] = true, true
		for _, field := range gen.Fields("Query") {
			n := 4
			if gen.Nestable("Query", field) {
				n = 16 // where nested variables can sit
			}
			for n := range n {
				c := gen.Operation("query", field, diffRounds)
				cases = append(cases, diffCase{
					name: fmt.Sprintf("%s %s #%d: %s", subgraph, field, n, c.Query), subgraph: subgraph, query: c.Query,
					opNames: []string{c.OperationName},
					vars:    func(_ *diffUser, r int) map[string]any { return c.Vars[r] },
				})
			}
		}
	}
	require.GreaterOrEqual(t, len(cases), 30)
	wants := f.expectations(t, cases)
	// The generator must reach real data, or the comparison proves little.
	withData := 0
	for _, ws := range wants {
		for _, w := range ws {
			if len(w.Errors) == 0 && !allNull(w.Data) {
				withData++
			}
		}
	}
	t.Logf("%d generated documents; %d of %d expected answers carry data", len(cases), withData, len(cases)*len(f.users)*diffRounds)
	require.Greater(t, withData, len(cases)*len(f.users)*diffRounds/3)
	f.compare(t, f.transports(t), cases, wants)
}

// notOwnedBy lists the fields ("Type.field") of the client schema that
// subgraph's SDL does not define: a generated selection for that subgraph
// leaves them out.
func notOwnedBy(t *testing.T, schema *gqlast.Schema, subgraph string) map[string]bool {
	sdl, err := os.ReadFile("../graph/" + subgraph + ".graphqls")
	require.NoError(t, err)
	doc, perr := parser.ParseSchema(&gqlast.Source{Name: subgraph, Input: string(sdl)})
	require.NoError(t, perr)
	owned := map[string]bool{}
	for _, def := range append(doc.Definitions, doc.Extensions...) {
		for _, fd := range def.Fields {
			if fd.Directives.ForName("external") == nil {
				owned[def.Name+"."+fd.Name] = true
			}
		}
	}
	skip := map[string]bool{}
	for name, def := range schema.Types {
		for _, fd := range def.Fields {
			if !owned[name+"."+fd.Name] && !strings.HasPrefix(fd.Name, "__") {
				skip[name+"."+fd.Name] = true
			}
		}
	}
	return skip
}

// allNull reports whether every field of data is null.
func allNull(data map[string]any) bool {
	for _, v := range data {
		if v != nil {
			return false
		}
	}
	return true
}

func anys[T any](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}
