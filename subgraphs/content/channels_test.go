package content_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

const channelFields = `id slug name description visibility memberCount postCount postingRestricted archivedAt lastPostAt createdAt
  owner { id } viewerRole viewerStatus`

const channelByID = `query($id: ID!) { channel(id: $id) { ` + channelFields + ` } }`

func TestCreateChannelMakesTheCreatorItsOwner(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	r := e.Do(e.as(owner), `mutation($in: CreateChannelInput!) { createChannel(input: $in) { `+channelFields+`
	  members { edges { node { user { id } role status notifyOnPost } } } } }`,
		vars{"in": vars{"slug": "go-tips", "name": "  Go tips  ", "description": "Small things", "visibility": "PRIVATE"}}).NoErrors(t)
	ch := r.Data["createChannel"].(map[string]any)
	require.Equal(t, "go-tips", ch["slug"])
	require.Equal(t, "Go tips", ch["name"], "the name is trimmed")
	require.Equal(t, "Small things", ch["description"])
	require.Equal(t, "PRIVATE", ch["visibility"])
	require.EqualValues(t, 1, ch["memberCount"])
	require.EqualValues(t, 0, ch["postCount"])
	require.Equal(t, false, ch["postingRestricted"])
	require.Nil(t, ch["archivedAt"])
	require.Nil(t, ch["lastPostAt"])
	require.Equal(t, owner.ID, str(ch, "owner", "id"))
	require.Equal(t, "OWNER", ch["viewerRole"])
	require.Equal(t, "MEMBER", ch["viewerStatus"])
	members := nodes(ch["members"])
	require.Len(t, members, 1)
	require.Equal(t, owner.ID, str(members[0], "user", "id"))
	require.Equal(t, "OWNER", members[0]["role"])
	require.Equal(t, "MEMBER", members[0]["status"])
	require.Equal(t, false, members[0]["notifyOnPost"], "shown to the member themself")

	// The database agrees: one OWNER membership, the counter at one.
	require.Equal(t, 1, e.count(`SELECT count(*) FROM memberships WHERE channel_id = $1 AND role = 'OWNER' AND user_id = $2`, ch["id"], owner.ID))

	// Readable by slug too.
	r = e.Do(e.as(owner), `{ channel(slug: "go-tips") { id } }`, nil).NoErrors(t)
	require.Equal(t, ch["id"], str(r.Data, "channel", "id"))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(owner), `{ channel { id } }`, nil).Code(t), "neither id nor slug")
}

func TestCreateChannelValidatesInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	create := `mutation($in: CreateChannelInput!) { createChannel(input: $in) { id } }`
	for _, slug := range []string{"ab", "Upper", "with space", "-lead", "trail-", "dou--ble", "und_er", strings.Repeat("a", 51), "é-accent"} {
		r := e.Do(e.as(owner), create, vars{"in": vars{"slug": slug, "name": "N"}})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t), "slug %q", slug)
		require.Equal(t, "slug", r.Field(t), "slug %q", slug)
	}
	r := e.Do(e.as(owner), create, vars{"in": vars{"slug": "fine-slug", "name": "   "}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	r = e.Do(e.as(owner), create, vars{"in": vars{"slug": "fine-slug", "name": "N", "description": strings.Repeat("d", 2001)}})
	require.Equal(t, "description", r.Field(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), create, vars{"in": vars{"slug": "fine-slug", "name": "N"}}).Code(t))
	require.Zero(t, e.count(`SELECT count(*) FROM channels`), "nothing was created")

	// Limits are inclusive, and the slug is unique.
	e.Do(e.as(owner), create, vars{"in": vars{"slug": "abc", "name": "N"}}).NoErrors(t)
	e.Do(e.as(owner), create, vars{"in": vars{"slug": strings.Repeat("a", 50), "name": strings.Repeat("n", 80)}}).NoErrors(t)
	r = e.Do(e.as(newPerson()), create, vars{"in": vars{"slug": "abc", "name": "Another"}})
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "slug", r.Field(t))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM channels`))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM memberships`), "the failed create left no membership")
}

// cast sets up a public channel with an owner, an admin, a member; a
// stranger and a STAFF user stand outside it.
type cast struct {
	owner, admin, member, stranger, staff person
	channel                               string
}

func (e *env) cast(slug, visibility string) cast {
	e.T.Helper()
	c := cast{owner: newPerson(), admin: newPerson(), member: newPerson(), stranger: newPerson(), staff: newPerson(identity.RoleStaff)}
	c.channel = e.createChannel(c.owner, slug, visibility)
	for _, p := range []person{c.admin, c.member} {
		if visibility == "PUBLIC" {
			require.Equal(e.T, "MEMBER", e.join(p, c.channel))
		} else {
			e.Do(e.as(c.owner), `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status } }`,
				vars{"c": c.channel, "u": p.ID}).NoErrors(e.T)
			require.Equal(e.T, "MEMBER", e.join(p, c.channel))
		}
	}
	e.Do(e.as(c.owner), `mutation($c: ID!, $u: ID!) { setChannelMemberRole(channelId: $c, userId: $u, role: ADMIN) { role } }`,
		vars{"c": c.channel, "u": c.admin.ID}).NoErrors(e.T)
	return c
}

func TestUpdateChannelByOwnerAdminOrStaff(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("updates", "PUBLIC")
	update := `mutation($id: ID!, $in: UpdateChannelInput!) { updateChannel(id: $id, input: $in) { name description visibility postingRestricted } }`

	r := e.Do(e.as(c.owner), update, vars{"id": c.channel, "in": vars{"name": "By owner"}}).NoErrors(t)
	require.Equal(t, map[string]any{"name": "By owner", "description": "", "visibility": "PUBLIC", "postingRestricted": false}, r.Data["updateChannel"])
	r = e.Do(e.as(c.admin), update, vars{"id": c.channel, "in": vars{"description": "By admin", "postingRestricted": true}}).NoErrors(t)
	require.Equal(t, map[string]any{"name": "By owner", "description": "By admin", "visibility": "PUBLIC", "postingRestricted": true}, r.Data["updateChannel"],
		"absent fields keep their value")
	r = e.Do(e.as(c.staff), update, vars{"id": c.channel, "in": vars{"visibility": "PRIVATE"}}).NoErrors(t)
	require.Equal(t, "PRIVATE", str(r.Data, "updateChannel", "visibility"))

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), update, vars{"id": c.channel, "in": vars{"name": "By member"}}).Code(t))
	// Private now: to a stranger it does not exist.
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.stranger), update, vars{"id": c.channel, "in": vars{"name": "x"}}).Code(t))
	r = e.Do(e.as(c.owner), update, vars{"id": c.channel, "in": vars{"name": ""}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "name", r.Field(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(c.owner), update, vars{"id": "nope", "in": vars{}}).Code(t))

	r = e.Do(e.as(c.member), channelByID, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "By owner", str(r.Data, "channel", "name"), "the member's attempt changed nothing")
}

func TestArchivedChannelIsReadOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("archive-me", "PUBLIC")
	postID := e.createPost(c.member, c.channel, "Before the archive")
	archive := `mutation($id: ID!, $a: Boolean!) { archiveChannel(id: $id, archived: $a) { archivedAt } }`

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), archive, vars{"id": c.channel, "a": true}).Code(t), "the owner or STAFF")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), archive, vars{"id": c.channel, "a": true}).Code(t))
	r := e.Do(e.as(c.owner), archive, vars{"id": c.channel, "a": true}).NoErrors(t)
	require.NotEmpty(t, str(r.Data, "archiveChannel", "archivedAt"))

	createPost := `mutation($c: ID!) { createPost(input: {channelId: $c, title: "T", body: "B"}) { id } }`
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), createPost, vars{"c": c.channel}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), addComment, vars{"p": postID, "b": "hi"}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), `mutation($id: ID!) { likePost(id: $id) { likeCount } }`, vars{"id": postID}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(newPerson()), `mutation($id: ID!) { joinChannel(id: $id) { status } }`, vars{"id": c.channel}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.owner), `mutation($id: ID!, $in: UpdateChannelInput!) { updateChannel(id: $id, input: $in) { name } }`,
		vars{"id": c.channel, "in": vars{"name": "x"}}).Code(t))

	// Still readable, counters untouched.
	r = e.Do(e.as(c.stranger), `query($id: ID!) { channel(id: $id) { archivedAt postCount posts { edges { node { id likeCount commentCount } } } } }`, vars{"id": c.channel}).NoErrors(t)
	require.NotNil(t, field(r.Data, "channel", "archivedAt"))
	require.EqualValues(t, 1, field(r.Data, "channel", "postCount"))
	require.Equal(t, []string{postID}, ids(field(r.Data, "channel", "posts")))
	require.Equal(t, []any{float64(0)}, values(field(r.Data, "channel", "posts"), "likeCount"))

	// STAFF may unarchive; everything works again.
	r = e.Do(e.as(c.staff), archive, vars{"id": c.channel, "a": false}).NoErrors(t)
	require.Nil(t, field(r.Data, "archiveChannel", "archivedAt"))
	e.Do(e.as(c.member), createPost, vars{"c": c.channel}).NoErrors(t)
	e.comment(c.member, postID, "", "hi")
	r = e.Do(e.as(c.member), `mutation($id: ID!) { likePost(id: $id) { likeCount } }`, vars{"id": postID}).NoErrors(t)
	require.EqualValues(t, 1, field(r.Data, "likePost", "likeCount"))
}

func TestDeleteChannelByOwnerOrStaffOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("doomed", "PUBLIC")
	postID := e.createPost(c.member, c.channel, "Goes with it")
	commentID := e.comment(c.admin, postID, "", "so does this")
	del := `mutation($id: ID!) { deleteChannel(id: $id) }`

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.admin), del, vars{"id": c.channel}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), del, vars{"id": c.channel}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.stranger), del, vars{"id": c.channel}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), del, vars{"id": c.channel}).Code(t))
	require.NotNil(t, field(e.Do(e.as(c.stranger), channelByID, vars{"id": c.channel}).NoErrors(t).Data, "channel"))

	r := e.Do(e.as(c.owner), del, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, true, r.Data["deleteChannel"])
	r = e.Do(e.as(c.owner), `query($c: ID!, $p: ID!, $m: ID!) { channel(id: $c) { id } post(id: $p) { id } comment(id: $m) { id } }`,
		vars{"c": c.channel, "p": postID, "m": commentID}).NoErrors(t)
	require.Equal(t, map[string]any{"channel": nil, "post": nil, "comment": nil}, r.Data, "posts and comments went with it")
	require.Zero(t, e.count(`SELECT count(*) FROM posts`))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.owner), del, vars{"id": c.channel}).Code(t))

	// STAFF deletes anyone's, private ones included.
	other := e.createChannel(newPerson(), "secret-one", "PRIVATE")
	e.Do(e.as(c.staff), del, vars{"id": other}).NoErrors(t)
	require.Zero(t, e.count(`SELECT count(*) FROM channels`))
}

func TestPrivateChannelIsSeenByMembersAndInviteesOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, member, invitee, requester, stranger := newPerson(), newPerson(), newPerson(), newPerson(), newPerson()
	moderator := newPerson(identity.RoleModerator)
	ch := e.createChannel(owner, "inner-circle", "PRIVATE")
	invite := `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status role } }`
	r := e.Do(e.as(owner), invite, vars{"c": ch, "u": member.ID}).NoErrors(t)
	require.Equal(t, map[string]any{"status": "INVITED", "role": nil}, r.Data["inviteToChannel"])
	require.Equal(t, "MEMBER", e.join(member, ch))
	e.Do(e.as(owner), invite, vars{"c": ch, "u": invitee.ID}).NoErrors(t)
	require.Equal(t, "REQUESTED", e.join(requester, ch))

	see := func(p person) map[string]any {
		t.Helper()
		r := e.Do(e.as(p), `query($id: ID!) { channel(id: $id) { id viewerStatus viewerRole } bySlug: channel(slug: "inner-circle") { id } }`, vars{"id": ch}).NoErrors(t)
		if r.Data["channel"] == nil {
			require.Nil(t, r.Data["bySlug"])
			return nil
		}
		require.Equal(t, ch, str(r.Data, "bySlug", "id"))
		return r.Data["channel"].(map[string]any)
	}
	require.Nil(t, see(stranger), "a stranger does not learn it exists")
	require.Nil(t, see(requester), "asking to join does not open it")
	r = e.Do(e.Anonymous(), channelByID, vars{"id": ch}).NoErrors(t)
	require.Nil(t, r.Data["channel"])
	require.Equal(t, map[string]any{"id": ch, "viewerStatus": "MEMBER", "viewerRole": "MEMBER"}, see(member))
	require.Equal(t, map[string]any{"id": ch, "viewerStatus": "INVITED", "viewerRole": nil}, see(invitee))
	require.Equal(t, map[string]any{"id": ch, "viewerStatus": "NONE", "viewerRole": nil}, see(moderator))

	// Reading its posts and members is for members.
	e.createPost(owner, ch, "Members only")
	postsQ := `query($id: ID!) { channel(id: $id) { posts { edges { node { title } } } } }`
	require.Equal(t, []any{"Members only"}, values(field(e.Do(e.as(member), postsQ, vars{"id": ch}).NoErrors(t).Data, "channel", "posts"), "title"))
	require.Empty(t, nodes(field(e.Do(e.as(invitee), postsQ, vars{"id": ch}).NoErrors(t).Data, "channel", "posts")), "invited is not yet a reader")
	r = e.Do(e.as(invitee), `query($id: ID!) { channel(id: $id) { members { edges { node { status } } } } }`, vars{"id": ch})
	require.Equal(t, "FORBIDDEN", r.Code(t))

	// Through _entities, as the router resolves a reference, the same rule.
	ent := `query($r: [_Any!]!) { _entities(representations: $r) { ... on Channel { id } } }`
	reps := vars{"r": []any{vars{"__typename": "Channel", "id": ch}, vars{"__typename": "Channel", "id": "not-a-uuid"}}}
	require.Equal(t, []any{nil, nil}, e.Do(e.as(stranger), ent, reps).NoErrors(t).Data["_entities"])
	require.Equal(t, []any{map[string]any{"id": ch}, nil}, e.Do(e.as(member), ent, reps).NoErrors(t).Data["_entities"])
}

const directory = `query($s: String, $sort: ChannelSort, $first: Int, $after: String) {
  channels(search: $s, sort: $sort, first: $first, after: $after) { edges { cursor node { id slug memberCount } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`

// slugs returns the slugs of a directory page.
func slugs(r map[string]any) []string {
	out := []string{}
	for _, v := range values(r["channels"], "slug") {
		out = append(out, v.(string))
	}
	return out
}

func TestDirectoryShowsPrivateChannelsToMembersOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, member, stranger, staff := newPerson(), newPerson(), newPerson(), newPerson(identity.RoleStaff)
	e.createChannel(owner, "open-one", "PUBLIC")
	private := e.createChannel(owner, "closed-one", "PRIVATE")
	e.createChannel(newPerson(), "someone-elses-secret", "PRIVATE")
	e.Do(e.as(owner), `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status } }`, vars{"c": private, "u": member.ID}).NoErrors(t)

	dir := func(p *person) []string {
		t.Helper()
		caller := e.Anonymous()
		if p != nil {
			caller = e.as(*p)
		}
		return slugs(e.Do(caller, directory, nil).NoErrors(t).Data)
	}
	require.Equal(t, []string{"open-one"}, dir(nil))
	require.Equal(t, []string{"open-one"}, dir(&stranger))
	require.Equal(t, []string{"open-one"}, dir(&member), "an invitation does not list it")
	require.Equal(t, []string{"closed-one", "open-one"}, dir(&owner), "newest first")
	e.join(member, private)
	require.Equal(t, []string{"closed-one", "open-one"}, dir(&member))
	require.Equal(t, []string{"someone-elses-secret", "closed-one", "open-one"}, dir(&staff))
}

func TestDirectorySearchMatchesWordsOfNameAndDescription(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, stranger := newPerson(), newPerson()
	mk := func(slug, name, desc, vis string) {
		e.createChannelWith(owner, vars{"slug": slug, "name": name, "description": desc, "visibility": vis})
	}
	mk("gardeners", "Gardeners", "Vegetables and flowers", "PUBLIC")
	mk("cooking", "Home cooking", "Recipes with vegetables from the garden", "PUBLIC")
	mk("databases", "Databases", "PostgreSQL indexes and plans", "PUBLIC")
	mk("secret-garden", "Secret garden", "", "PRIVATE")

	search := func(p person, s string) []string {
		t.Helper()
		return slugs(e.Do(e.as(p), directory, vars{"s": s}).NoErrors(t).Data)
	}
	require.Equal(t, []string{"cooking", "gardeners"}, search(stranger, "garden"), "stems match (gardeners, garden), in names and descriptions")
	require.Equal(t, []string{"secret-garden", "cooking", "gardeners"}, search(owner, "gardening"))
	require.Equal(t, []string{"databases"}, search(stranger, "index"))
	require.Equal(t, []string{"cooking"}, search(stranger, "vegetables recipe"), "every word must match")
	require.Equal(t, []string{"cooking", "gardeners"}, search(stranger, "recipes or flowers"))
	require.Empty(t, search(stranger, "kubernetes"))
	require.Empty(t, search(stranger, "arden"), "whole words, not substrings")
	require.Equal(t, []string{"databases", "cooking", "gardeners"}, search(stranger, "   "), "a blank search lists everything")

	r := e.Do(e.as(stranger), directory, vars{"s": strings.Repeat("x", 201)})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "search", r.Field(t))
	for _, bad := range []string{"garden & | !", "(((", `"unclosed`} {
		e.Do(e.as(stranger), directory, vars{"s": bad}).NoErrors(t) // websearch syntax never fails
	}
}

// walk pages through the directory first at a time and returns the slugs in
// order; between pages it calls between (once, after the first page).
func (e *env) walk(p person, v vars, first int, between func()) []string {
	e.T.Helper()
	var out []string
	after := ""
	for page := 0; ; page++ {
		q := vars{"first": first}
		for k, x := range v {
			q[k] = x
		}
		if after != "" {
			q["after"] = after
		}
		r := e.Do(e.as(p), directory, q).NoErrors(e.T)
		got := slugs(r.Data)
		require.LessOrEqual(e.T, len(got), first)
		out = append(out, got...)
		info := field(r.Data, "channels", "pageInfo").(map[string]any)
		require.Equal(e.T, page > 0, info["hasPreviousPage"])
		if page == 0 && between != nil {
			between()
		}
		if info["hasNextPage"] != true {
			return out
		}
		require.NotEmpty(e.T, got)
		after = info["endCursor"].(string)
		require.Less(e.T, page, 50, "paging does not end")
	}
}

func TestDirectorySortsAndPagesEachItemOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	// Created in this order (NEWEST is the reverse). Members: a 1, b 3, c 2,
	// d 3, e 1, f 2, g 1 (ties: newer first). Posts: in c, then a, then f.
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	members := map[string]int{"a": 1, "b": 3, "c": 2, "d": 3, "e": 1, "f": 2, "g": 1}
	ids := map[string]string{}
	for _, n := range names {
		slug := "chan-" + n
		ids[n] = e.createChannelWith(owner, vars{"slug": slug, "name": "Channel " + n, "description": "A channel about things"})
		for range members[n] - 1 {
			e.join(newPerson(), ids[n])
		}
	}
	for _, n := range []string{"c", "a", "f"} {
		e.createPost(owner, ids[n], "News in "+n)
	}
	prefixed := func(s ...string) []string {
		out := make([]string, len(s))
		for i, n := range s {
			out[i] = "chan-" + n
		}
		return out
	}
	want := map[string][]string{
		"NEWEST":   prefixed("g", "f", "e", "d", "c", "b", "a"),
		"MEMBERS":  prefixed("d", "b", "f", "c", "g", "e", "a"),
		"ACTIVITY": prefixed("f", "a", "c", "g", "e", "d", "b"),
	}
	for sort, order := range want {
		r := e.Do(e.as(owner), directory, vars{"sort": sort}).NoErrors(t)
		require.Equal(t, order, slugs(r.Data), sort)
		for _, first := range []int{1, 2, 3} {
			require.Equal(t, order, e.walk(owner, vars{"sort": sort}, first, nil), "%s by %d", sort, first)
		}
	}
	require.Equal(t, want["NEWEST"], slugs(e.Do(e.as(owner), directory, nil).NoErrors(t).Data), "NEWEST is the default")

	// Counts in the list are exact.
	r := e.Do(e.as(owner), directory, vars{"sort": "MEMBERS"}).NoErrors(t)
	require.Equal(t, []any{3.0, 3.0, 2.0, 2.0, 1.0, 1.0, 1.0}, values(r.Data["channels"], "memberCount"))

	// A channel created (and one joined) while a client pages: every item
	// that was there from the start is listed exactly once.
	for _, sort := range []string{"NEWEST", "MEMBERS", "ACTIVITY"} {
		n := 0
		got := e.walk(owner, vars{"sort": sort}, 2, func() {
			n++
			e.createChannel(owner, fmt.Sprintf("late-%s-%d", strings.ToLower(sort), n), "PUBLIC")
		})
		seen := map[string]int{}
		for _, s := range got {
			seen[s]++
		}
		for _, s := range want[sort] {
			require.Equal(t, 1, seen[s], "%s: %s listed %d times in %v", sort, s, seen[s], got)
		}
		for s, c := range seen {
			require.Equal(t, 1, c, "%s: %s listed %d times", sort, s, c)
		}
	}
}

func TestDirectoryRelevance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	mk := func(slug, name, desc string) {
		e.createChannelWith(owner, vars{"slug": slug, "name": name, "description": desc})
	}
	// A match in the name weighs more than one in the description; more
	// matches rank higher.
	mk("in-name", "Rust programming", "Systems language")
	mk("in-description", "Systems", "We talk about rust now and then")
	mk("unrelated", "Python", "Snakes and scripts")
	mk("in-both", "Rust and Rust", "rust rust rust all day")
	for i := range 5 {
		mk(fmt.Sprintf("rusty-%d", i), "Old tools", "rust on tools")
	}
	r := e.Do(e.as(owner), directory, vars{"s": "rust", "sort": "RELEVANCE", "first": 100}).NoErrors(t)
	got := slugs(r.Data)
	require.Len(t, got, 8)
	require.Equal(t, []string{"in-both", "in-name"}, got[:2])
	require.NotContains(t, got, "unrelated")

	for _, first := range []int{1, 2, 3} {
		require.Equal(t, got, e.walk(owner, vars{"s": "rust", "sort": "RELEVANCE"}, first, nil), "by %d", first)
	}

	r = e.Do(e.as(owner), directory, vars{"sort": "RELEVANCE"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "sort", r.Field(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(owner), directory, vars{"sort": "RELEVANCE", "s": "  "}).Code(t))
}

func TestDirectoryRejectsMalformedCursors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	e.createChannel(owner, "only-one", "PUBLIC")
	for _, sort := range []string{"NEWEST", "MEMBERS", "ACTIVITY"} {
		for _, after := range []string{"garbage!", "Zm9v", "bm8tc2xhc2h8MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"} {
			r := e.Do(e.as(owner), directory, vars{"sort": sort, "after": after})
			require.Equal(t, "BAD_USER_INPUT", r.Code(t), "%s after %q", sort, after)
			require.Equal(t, "after", r.Field(t))
		}
	}
	// A cursor of one sort given to another is refused, not misread.
	r := e.Do(e.as(owner), directory, vars{"sort": "ACTIVITY", "s": "channel"}).NoErrors(t)
	activity := field(r.Data, "channels", "pageInfo", "endCursor").(string)
	r = e.Do(e.as(owner), directory, vars{"sort": "NEWEST"}).NoErrors(t)
	newest := field(r.Data, "channels", "pageInfo", "endCursor").(string)
	for _, c := range []struct{ sort, after string }{{"MEMBERS", newest}, {"RELEVANCE", activity}, {"ACTIVITY", newest}} {
		r := e.Do(e.as(owner), directory, vars{"sort": c.sort, "s": "channel", "after": c.after})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t), "%s after another sort's cursor", c.sort)
	}
	for _, first := range []int{0, -1, 101} {
		r := e.Do(e.as(owner), directory, vars{"first": first})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t))
		require.Equal(t, "first", r.Field(t))
	}
}
