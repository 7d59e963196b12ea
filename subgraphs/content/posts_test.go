package content_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

const postFields = `id title body status pinned likeCount commentCount hidden hiddenReason editedAt publishedAt createdAt
  author { id } channel { id postCount lastPostAt }`

const postByID = `query($id: ID!) { post(id: $id) { ` + postFields + ` } }`

// readPost reads post id as p; nil when p may not see it.
func (e *env) readPost(p person, id string) map[string]any {
	e.T.Helper()
	m, _ := e.Do(e.as(p), postByID, vars{"id": id}).NoErrors(e.T).Data["post"].(map[string]any)
	return m
}

// channelPosts lists a channel's posts (titles) as p, first at a time,
// walking every page.
func (e *env) channelPosts(p person, ch string, first int) []string {
	e.T.Helper()
	q := `query($id: ID!, $first: Int, $after: String) { channel(id: $id) { posts(first: $first, after: $after) {
	  edges { node { title } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`
	var out []string
	after := ""
	for page := 0; ; page++ {
		v := vars{"id": ch, "first": first}
		if after != "" {
			v["after"] = after
		}
		conn := field(e.Do(e.as(p), q, v).NoErrors(e.T).Data, "channel", "posts")
		for _, t := range values(conn, "title") {
			out = append(out, t.(string))
		}
		require.Equal(e.T, page > 0, field(conn, "pageInfo", "hasPreviousPage"))
		if field(conn, "pageInfo", "hasNextPage") != true {
			return out
		}
		after = str(conn, "pageInfo", "endCursor")
	}
}

func TestDraftsAreTheAuthorsUntilPublished(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("drafts", "PUBLIC")
	id := e.draft(c.member, c.channel, "Half done")

	mine := e.readPost(c.member, id)
	require.Equal(t, "DRAFT", mine["status"])
	require.Nil(t, mine["publishedAt"])
	require.Equal(t, c.member.ID, str(mine, "author", "id"))
	require.EqualValues(t, 0, field(mine, "channel", "postCount"))
	require.Nil(t, field(mine, "channel", "lastPostAt"))
	for _, p := range []person{c.owner, c.admin, c.stranger, c.staff} {
		require.Nil(t, e.readPost(p, id), "a draft is its author's")
	}
	require.Empty(t, e.channelPosts(c.member, c.channel, 20), "drafts are not listed")

	// Nothing happens to a draft but its author's edits.
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.owner), `mutation($id: ID!) { publishPost(id: $id) { id } }`, vars{"id": id}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), addComment, vars{"p": id, "b": "early"}).Code(t))
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), `mutation($id: ID!) { likePost(id: $id) { id } }`, vars{"id": id}).Code(t))
	r := e.Do(e.as(c.member), `mutation($id: ID!) { updatePost(id: $id, input: {body: "Done now"}) { body editedAt edits { body } } }`, vars{"id": id}).NoErrors(t)
	require.Equal(t, map[string]any{"body": "Done now", "editedAt": nil, "edits": []any{}}, r.Data["updatePost"], "drafts keep no history")

	r = e.Do(e.as(c.member), `mutation($id: ID!) { publishPost(id: $id) { status publishedAt channel { postCount lastPostAt } } }`, vars{"id": id}).NoErrors(t)
	published := r.Data["publishPost"].(map[string]any)
	require.Equal(t, "PUBLISHED", published["status"])
	require.NotNil(t, published["publishedAt"])
	require.EqualValues(t, 1, field(published, "channel", "postCount"))
	require.Equal(t, published["publishedAt"], field(published, "channel", "lastPostAt"))
	e.Do(e.as(c.member), `mutation($id: ID!) { publishPost(id: $id) { status } }`, vars{"id": id}).NoErrors(t)
	require.EqualValues(t, 1, field(e.readPost(c.stranger, id), "channel", "postCount"), "publishing twice counts once")
	require.Equal(t, []string{"Half done"}, e.channelPosts(c.stranger, c.channel, 20))
}

func TestUpdatePostKeepsEarlierVersions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("edits", "PUBLIC")
	moderator := newPerson(identity.RoleModerator)
	id := e.createPost(c.member, c.channel, "First title")
	update := `mutation($id: ID!, $in: UpdatePostInput!) { updatePost(id: $id, input: $in) { title body editedAt } }`

	require.Nil(t, e.readPost(c.member, id)["editedAt"])
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.owner), update, vars{"id": id, "in": vars{"title": "Owner's"}}).Code(t), "the author only")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.staff), update, vars{"id": id, "in": vars{"title": "Staff's"}}).Code(t))
	r := e.Do(e.as(c.member), update, vars{"id": id, "in": vars{"title": " "}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "title", r.Field(t))
	r = e.Do(e.as(c.member), update, vars{"id": id, "in": vars{"body": strings.Repeat("b", 40001)}})
	require.Equal(t, "body", r.Field(t))

	r = e.Do(e.as(c.member), update, vars{"id": id, "in": vars{"title": "Second title"}}).NoErrors(t)
	require.Equal(t, "Second title", str(r.Data, "updatePost", "title"))
	require.Equal(t, "Body of First title", str(r.Data, "updatePost", "body"), "absent fields keep their value")
	firstEdit := str(r.Data, "updatePost", "editedAt")
	require.NotEmpty(t, firstEdit)
	e.Do(e.as(c.member), update, vars{"id": id, "in": vars{"body": "New body"}}).NoErrors(t)
	e.Do(e.as(c.member), update, vars{"id": id, "in": vars{"body": "New body", "title": "Second title"}}).NoErrors(t) // no change

	edits := `query($id: ID!) { post(id: $id) { title body editedAt edits { title body replacedAt } } }`
	read := func(p person) map[string]any {
		t.Helper()
		return e.Do(e.as(p), edits, vars{"id": id}).NoErrors(t).Data["post"].(map[string]any)
	}
	got := read(c.member)
	require.Equal(t, "Second title", got["title"])
	require.Equal(t, "New body", got["body"])
	versions := got["edits"].([]any)
	require.Len(t, versions, 2, "an unchanged update keeps no version")
	require.Equal(t, map[string]any{"title": "Second title", "body": "Body of First title"}, without(versions[0], "replacedAt"), "newest first")
	require.Equal(t, map[string]any{"title": "First title", "body": "Body of First title"}, without(versions[1], "replacedAt"))
	require.Equal(t, firstEdit, field(versions[1], "replacedAt"))
	require.Equal(t, got["editedAt"], field(versions[0], "replacedAt"))
	require.True(t, tm(t, got["editedAt"]).After(tm(t, firstEdit)))

	require.Len(t, read(c.admin)["edits"], 2, "channel admins moderate")
	require.Len(t, read(moderator)["edits"], 2)
	require.Len(t, read(c.staff)["edits"], 2)
	require.Equal(t, []any{}, read(c.stranger)["edits"], "others see none")
	require.Equal(t, []any{}, e.Do(e.Anonymous(), edits, vars{"id": id}).NoErrors(t).Data["post"].(map[string]any)["edits"])
	require.NotNil(t, read(c.stranger)["editedAt"], "but that it was edited is public")
}

// tm parses a DateTime.
func tm(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "%v is not a DateTime", v)
	return at
}

func without(m any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m.(map[string]any) {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func TestWhoMayPost(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("announcements", "PUBLIC")
	create := `mutation($in: CreatePostInput!) { createPost(input: $in) { id author { id } } }`
	in := func(title string) vars {
		return vars{"in": vars{"channelId": c.channel, "title": title, "body": "Body"}}
	}
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.stranger), create, in("Not a member")).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), create, in("Anonymous")).Code(t))
	e.Do(e.as(c.member), create, in("By a member")).NoErrors(t)

	e.Do(e.as(c.owner), `mutation($id: ID!) { updateChannel(id: $id, input: {postingRestricted: true}) { id } }`, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), create, in("Restricted")).Code(t))
	draftIn := in("Restricted draft")
	draftIn["in"].(vars)["publish"] = false
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), create, draftIn).Code(t), "not even a draft")
	e.Do(e.as(c.admin), create, in("By the admin")).NoErrors(t)
	e.Do(e.as(c.owner), create, in("By the owner")).NoErrors(t)
	require.Equal(t, []string{"By the owner", "By the admin", "By a member"}, e.channelPosts(c.stranger, c.channel, 20))

	// A draft written before the restriction cannot be published after it.
	e.Do(e.as(c.owner), `mutation($id: ID!) { updateChannel(id: $id, input: {postingRestricted: false}) { id } }`, vars{"id": c.channel}).NoErrors(t)
	draft := e.draft(c.member, c.channel, "Waiting")
	e.Do(e.as(c.owner), `mutation($id: ID!) { updateChannel(id: $id, input: {postingRestricted: true}) { id } }`, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), `mutation($id: ID!) { publishPost(id: $id) { id } }`, vars{"id": draft}).Code(t))

	// A private channel does not exist for outsiders.
	priv := e.createChannel(c.owner, "private-posts", "PRIVATE")
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.stranger), create, vars{"in": vars{"channelId": priv, "title": "x", "body": "y"}}).Code(t))

	for _, bad := range []vars{
		{"channelId": c.channel, "title": "", "body": "b"},
		{"channelId": c.channel, "title": strings.Repeat("t", 201), "body": "b"},
		{"channelId": c.channel, "title": "t", "body": "  "},
		{"channelId": "nope", "title": "t", "body": "b"},
	} {
		require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(c.owner), create, vars{"in": bad}).Code(t), "%v", bad)
	}
	require.Equal(t, 3, e.count(`SELECT post_count FROM channels WHERE id = $1`, c.channel))
}

func TestPinnedPosts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("pins", "PUBLIC")
	first := e.createPost(c.member, c.channel, "First")
	second := e.createPost(c.member, c.channel, "Second")
	e.createPost(c.member, c.channel, "Third")
	pin := `mutation($id: ID!, $on: Boolean!) { pinPost(id: $id, pinned: $on) { id pinned } }`
	pinned := func() []string {
		t.Helper()
		r := e.Do(e.as(c.stranger), `query($id: ID!) { channel(id: $id) { pinnedPosts { title pinned } } }`, vars{"id": c.channel}).NoErrors(t)
		out := []string{}
		for _, p := range field(r.Data, "channel", "pinnedPosts").([]any) {
			require.Equal(t, true, field(p, "pinned"))
			out = append(out, str(p, "title"))
		}
		return out
	}

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), pin, vars{"id": first, "on": true}).Code(t), "authors do not pin")
	r := e.Do(e.as(c.admin), pin, vars{"id": first, "on": true}).NoErrors(t)
	require.Equal(t, true, field(r.Data, "pinPost", "pinned"))
	e.Do(e.as(c.owner), pin, vars{"id": second, "on": true}).NoErrors(t)
	e.Do(e.as(c.owner), pin, vars{"id": first, "on": true}).NoErrors(t) // again: keeps its place
	require.Equal(t, []string{"Second", "First"}, pinned(), "most recently pinned first")
	require.Equal(t, true, e.readPost(c.stranger, first)["pinned"])
	require.Equal(t, []string{"Third", "Second", "First"}, e.channelPosts(c.stranger, c.channel, 20), "pinned ones stay in posts")

	draft := e.draft(c.admin, c.channel, "Draft")
	require.Equal(t, "CONFLICT", e.Do(e.as(c.admin), pin, vars{"id": draft, "on": true}).Code(t), "drafts are not pinned")

	e.Do(e.as(c.admin), pin, vars{"id": second, "on": false}).NoErrors(t)
	require.Equal(t, []string{"First"}, pinned())
	require.Equal(t, false, e.readPost(c.stranger, second)["pinned"])
	e.Do(e.as(c.member), `mutation($id: ID!) { deletePost(id: $id) }`, vars{"id": first}).NoErrors(t)
	require.Empty(t, pinned(), "a deleted post is unpinned")
}

func TestDeletePostIsSoft(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("deletions", "PUBLIC")
	mine := e.createPost(c.member, c.channel, "Mine")
	theirs := e.createPost(c.admin, c.channel, "Theirs")
	third := e.createPost(c.owner, c.channel, "Third")
	fourth := e.createPost(c.owner, c.channel, "Fourth")
	del := `mutation($id: ID!) { deletePost(id: $id) }`
	require.EqualValues(t, 4, field(e.readPost(c.stranger, mine), "channel", "postCount"))

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), del, vars{"id": theirs}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.stranger), del, vars{"id": theirs}).Code(t))
	require.Equal(t, true, e.Do(e.as(c.member), del, vars{"id": mine}).NoErrors(t).Data["deletePost"])
	require.Nil(t, e.readPost(c.member, mine), "gone for its author too")
	require.Nil(t, e.readPost(c.stranger, mine))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.member), del, vars{"id": mine}).Code(t))
	require.EqualValues(t, 3, field(e.readPost(c.stranger, theirs), "channel", "postCount"))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM posts WHERE id = $1 AND deleted_at IS NOT NULL`, mine), "soft: the row stays")

	e.Do(e.as(c.admin), del, vars{"id": third}).NoErrors(t) // admins delete anyone's
	e.Do(e.as(c.staff), del, vars{"id": fourth}).NoErrors(t)
	require.Equal(t, []string{"Theirs"}, e.channelPosts(c.stranger, c.channel, 20))
	require.EqualValues(t, 1, field(e.readPost(c.stranger, theirs), "channel", "postCount"))

	// Deleting a draft does not touch the count.
	d := e.draft(c.member, c.channel, "Scratch")
	e.Do(e.as(c.member), del, vars{"id": d}).NoErrors(t)
	require.EqualValues(t, 1, field(e.readPost(c.stranger, theirs), "channel", "postCount"))
}

func TestChannelPostsNewestFirstWithPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("paging", "PUBLIC")
	var want []string
	for i := range 7 {
		title := fmt.Sprintf("Post %d", i)
		e.createPost(c.member, c.channel, title)
		want = append([]string{title}, want...)
	}
	e.draft(c.member, c.channel, "Not listed")
	for _, first := range []int{1, 2, 3, 7, 20} {
		require.Equal(t, want, e.channelPosts(c.stranger, c.channel, first), "by %d", first)
	}
	r := e.Do(e.as(c.stranger), `query($id: ID!) { channel(id: $id) { posts(after: "junk") { edges { cursor } } } }`, vars{"id": c.channel})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "after", r.Field(t))
}

const feedQuery = `query($first: Int, $after: String) { feed(first: $first, after: $after) {
  edges { node { title channel { id } } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`

// feed walks p's feed first at a time and returns the titles.
func (e *env) feed(p person, first int) []string {
	e.T.Helper()
	var out []string
	after := ""
	for {
		v := vars{"first": first}
		if after != "" {
			v["after"] = after
		}
		conn := e.Do(e.as(p), feedQuery, v).NoErrors(e.T).Data["feed"]
		for _, t := range values(conn, "title") {
			out = append(out, t.(string))
		}
		if field(conn, "pageInfo", "hasNextPage") != true {
			return out
		}
		after = str(conn, "pageInfo", "endCursor")
	}
}

func TestFeedMergesTheChannelsOfTheReader(t *testing.T) {
	t.Parallel()
	e := setup(t)
	reader, owner := newPerson(), newPerson()
	a := e.createChannel(owner, "feed-a", "PUBLIC")
	b := e.createChannel(owner, "feed-b", "PRIVATE")
	cc := e.createChannel(owner, "feed-c", "PUBLIC")
	notJoined := e.createChannel(owner, "feed-d", "PUBLIC")
	e.join(reader, a)
	e.Do(e.as(owner), inviteMutation, vars{"c": b, "u": reader.ID}).NoErrors(t)
	e.join(reader, b)
	e.join(reader, cc)

	// Interleaved across channels; newest first in the feed.
	plan := []struct{ ch, title string }{
		{a, "a1"}, {b, "b1"}, {notJoined, "d1"}, {cc, "c1"}, {a, "a2"}, {b, "b2"}, {b, "b3"}, {cc, "c2"}, {notJoined, "d2"}, {a, "a3"},
	}
	for _, p := range plan {
		e.createPost(owner, p.ch, p.title)
	}
	e.draft(owner, a, "draft")
	want := []string{"a3", "c2", "b3", "b2", "a2", "c1", "b1", "a1"}
	require.Equal(t, want, e.feed(reader, 20))
	for _, first := range []int{1, 2, 3} {
		require.Equal(t, want, e.feed(reader, first), "by %d", first)
	}
	require.Empty(t, e.feed(newPerson(), 20), "no channels, no feed")
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), feedQuery, nil).Code(t))

	// Left channels leave the feed; a post between pages is not repeated.
	e.Do(e.as(reader), leaveMutation, vars{"id": b}).NoErrors(t)
	require.Equal(t, []string{"a3", "c2", "a2", "c1", "a1"}, e.feed(reader, 2))
	r := e.Do(e.as(reader), feedQuery, vars{"first": 2}).NoErrors(t)
	require.Equal(t, []any{"a3", "c2"}, values(r.Data["feed"], "title"))
	e.createPost(owner, a, "a4")
	r = e.Do(e.as(reader), feedQuery, vars{"first": 10, "after": str(r.Data, "feed", "pageInfo", "endCursor")}).NoErrors(t)
	require.Equal(t, []any{"a2", "c1", "a1"}, values(r.Data["feed"], "title"))
	require.Equal(t, true, field(r.Data, "feed", "pageInfo", "hasPreviousPage"))
}

func TestTopPostsByLikesWithinPeriod(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("top", "PUBLIC")
	likers := []person{c.owner, c.admin, c.member}
	posts := map[string]string{}
	for title, likes := range map[string]int{"none": 0, "one": 1, "three": 3, "two": 2, "old": 3, "ancient": 2} {
		posts[title] = e.createPost(c.member, c.channel, title)
		for _, p := range likers[:likes] {
			e.Do(e.as(p), `mutation($id: ID!) { likePost(id: $id) { likeCount } }`, vars{"id": posts[title]}).NoErrors(t)
		}
	}
	ago := func(title string, d time.Duration) {
		_, err := e.DB.Exec(t.Context(), `UPDATE posts SET published_at = now() - $2::interval WHERE id = $1`, posts[title], fmt.Sprintf("%d seconds", int(d.Seconds())))
		require.NoError(t, err)
	}
	ago("old", 10*24*time.Hour)
	ago("ancient", 400*24*time.Hour)

	top := func(period string, first int) []any {
		t.Helper()
		r := e.Do(e.as(c.stranger), `query($id: ID!, $p: TopPeriod, $n: Int) { channel(id: $id) { topPosts(period: $p, first: $n) { title likeCount } } }`,
			vars{"id": c.channel, "p": period, "n": first}).NoErrors(t)
		out := []any{}
		for _, p := range field(r.Data, "channel", "topPosts").([]any) {
			out = append(out, fmt.Sprint(str(p, "title"), ":", field(p, "likeCount")))
		}
		return out
	}
	require.Equal(t, []any{"three:3", "two:2", "one:1", "none:0"}, top("WEEK", 10))
	require.Equal(t, []any{"three:3", "two:2"}, top("DAY", 2))
	require.Equal(t, []any{"three:3", "old:3", "two:2", "one:1", "none:0"}, top("MONTH", 10), "ties: newer first")
	require.Equal(t, []any{"three:3", "old:3", "two:2", "ancient:2", "one:1", "none:0"}, top("ALL", 10))
	r := e.Do(e.as(c.stranger), `query($id: ID!) { channel(id: $id) { topPosts(first: 0) { title } } }`, vars{"id": c.channel})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
}

func TestUserPostsHidePrivateChannelsFromOutsiders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	author, insider, outsider, staff := newPerson(), newPerson(), newPerson(), newPerson(identity.RoleStaff)
	pub := e.createChannel(author, "author-public", "PUBLIC")
	priv := e.createChannel(author, "author-private", "PRIVATE")
	e.Do(e.as(author), inviteMutation, vars{"c": priv, "u": insider.ID}).NoErrors(t)
	e.join(insider, priv)
	e.createPost(author, pub, "Public 1")
	e.createPost(author, priv, "Private 1")
	e.createPost(author, pub, "Public 2")
	e.draft(author, pub, "Draft")
	e.join(insider, pub)
	e.createPost(insider, pub, "Someone else's")

	titles := func(c any) []any {
		t.Helper()
		caller := e.Anonymous()
		if p, ok := c.(person); ok {
			caller = e.as(p)
		}
		return values(e.user(caller, author.ID, `posts { edges { node { title } } }`)["posts"], "title")
	}
	require.Equal(t, []any{"Public 2", "Private 1", "Public 1"}, titles(author))
	require.Equal(t, []any{"Public 2", "Private 1", "Public 1"}, titles(insider))
	require.Equal(t, []any{"Public 2", "Private 1", "Public 1"}, titles(staff))
	require.Equal(t, []any{"Public 2", "Public 1"}, titles(outsider))
	require.Equal(t, []any{"Public 2", "Public 1"}, titles(nil))

	// Paged.
	u := e.user(e.as(outsider), author.ID, `posts(first: 1) { edges { node { title } } pageInfo { hasNextPage endCursor } }`)
	require.Equal(t, []any{"Public 2"}, values(u["posts"], "title"))
	r := e.Do(e.as(outsider), `query($r: [_Any!]!, $a: String) { _entities(representations: $r) { ... on User { posts(first: 1, after: $a) { edges { node { title } } } } } }`,
		vars{"r": []any{vars{"__typename": "User", "id": author.ID}}, "a": str(u, "posts", "pageInfo", "endCursor")}).NoErrors(t)
	require.Equal(t, []any{"Public 1"}, values(field(r.Data["_entities"].([]any)[0], "posts"), "title"))
}
