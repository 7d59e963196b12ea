package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/pg"
)

// TestContentAuthorization is the content subgraph's authorization matrix,
// through the router: every query and mutation (and the guarded fields of
// Channel, Post and User), on a PUBLIC and on a PRIVATE channel, for each
// kind of caller. Expectations come from the SDL's descriptions
// (graph/content.graphqls) and the rules in subgraphs/content/community
// (MayFind, MayRead, MayModerate, requireAdmin, requireOwner, mayPost,
// outranks). Where the SDL names the owner and admins only and the code
// also admits STAFF (requireAdmin, requireOwner), STAFF is expected to be
// admitted: STAFF administers every channel, as updateChannel,
// archiveChannel and deleteChannel say outright.
//
// Reads share one world per visibility; every mutation case gets a fresh
// channel (owner, admin, member, a post and a comment by the member), so
// that no case sees another's effects.
func TestContentAuthorization(t *testing.T) {
	p := newPlatform(t)
	p.startSubgraphs()
	// Hundreds of requests from one address and a handful of users: the
	// rate limits are the router's own tests' business.
	cfg := p.routerConfig()
	cfg.RateLimit = false
	p.startRouterWith(cfg)

	staff := p.azStaff("az_staff")
	moderator := p.register("az_moderator")
	p.ok(staff.Token, `mutation($u: ID!) { grantRole(userId: $u, role: MODERATOR) { id } }`, map[string]any{"u": moderator.ID})
	moderator = p.azLogin(moderator) // roles travel in the access token
	cast := func(prefix string) *azCast {
		c := &azCast{requester: p.register(prefix + "_requester"), guest: p.register(prefix + "_guest")}
		c.who[azStranger] = p.register(prefix + "_stranger")
		c.who[azMember] = p.register(prefix + "_member")
		c.who[azAdmin] = p.register(prefix + "_admin")
		c.who[azOwner] = p.register(prefix + "_owner")
		c.who[azModerator], c.who[azStaff] = moderator, staff
		return c
	}
	// Readers and writers are different people: a reader's feed must not
	// fill up with the writers' fixtures.
	readers, writers := cast("azr"), cast("azw")

	t.Run("reads", func(t *testing.T) {
		p := p.in(t)
		for _, vis := range []string{"PUBLIC", "PRIVATE"} {
			w := p.azWorld(readers, vis)
			t.Run(vis, func(t *testing.T) {
				t.Parallel()
				for _, rc := range azReads() {
					want := rc.pub
					if vis == "PRIVATE" {
						want = rc.priv
					}
					for caller, outcome := range want {
						t.Run(rc.name+"/"+azCallers[caller], func(t *testing.T) {
							p := p.in(t)
							r := p.post(readers.token(caller), rc.query, rc.vars(w, readers))
							azCheckRead(t, rc, w, readers, caller, outcome, r)
						})
					}
				}
				if vis == "PRIVATE" {
					azOutsiders(t, p, w, readers)
				}
			})
		}
	})

	t.Run("mutations", func(t *testing.T) {
		for _, mc := range azMutations() {
			for _, vis := range []string{"PUBLIC", "PRIVATE"} {
				want := mc.pub
				if vis == "PRIVATE" {
					want = mc.priv
				}
				for caller, outcome := range want {
					t.Run(mc.name+"/"+vis+"/"+azCallers[caller], func(t *testing.T) {
						t.Parallel()
						p := p.in(t)
						azRunMutation(t, p, writers, mc, vis, caller, outcome)
					})
				}
			}
		}
		t.Run("subscriptions", func(t *testing.T) {
			t.Parallel()
			azSubscriptions(t, p.in(t), writers)
		})
		t.Run("archived channel", func(t *testing.T) {
			t.Parallel()
			azArchived(t, p.in(t), writers)
		})
	})
}

// --- callers and outcomes ---

// The callers of the matrix, in the column order of every table below.
const (
	azAnon = iota
	azStranger
	azMember
	azAdmin
	azOwner
	azModerator
	azStaff
	azN
)

var azCallers = [azN]string{"anonymous", "non-member", "member", "admin", "owner", "MODERATOR", "STAFF"}

// azCast is one set of callers: a channel's owner, admin and member, a
// signed-in stranger, the global MODERATOR and STAFF, and two outsiders
// acted upon (one who asks to join, one who is invited).
type azCast struct {
	who              [azN]account // who[azAnon] is nobody
	requester, guest account
}

func (c *azCast) token(caller int) string { return c.who[caller].Token }

// Outcomes. A code is the errors' extensions.code; the others are clean
// answers: "ok" (present, and any effect happened), "null" (the object
// asked for is null: unknown to the caller), "empty" (the object is there,
// the thing looked for is not: an empty or filtered list, a null field).
const (
	azOK    = "ok"
	azNull  = "null"
	azEmpty = "empty"
)

var azCodes = map[string]string{"U": "UNAUTHENTICATED", "F": "FORBIDDEN", "NF": "NOT_FOUND", "C": "CONFLICT", "BAD": "BAD_USER_INPUT"}

// azRow reads one table row: an outcome per caller, in azCallers order,
// with codes abbreviated (U, F, NF, C, BAD).
func azRow(s string) [azN]string {
	f := strings.Fields(s)
	if len(f) != azN {
		panic("azRow: want " + fmt.Sprint(azN) + " outcomes: " + s)
	}
	var out [azN]string
	for i, o := range f {
		if c, ok := azCodes[o]; ok {
			o = c
		}
		out[i] = o
	}
	return out
}

func azIsCode(outcome string) bool { return strings.ToUpper(outcome) == outcome }

// azRequireCode requires r to fail with code, and with nothing else.
func azRequireCode(t *testing.T, r gqlResponse, code string) {
	t.Helper()
	require.NotEmpty(t, r.Errors, "want %s, got data %v", code, r.Data)
	for _, c := range r.codes() {
		require.Equal(t, code, c, "errors: %+v", r.Errors)
	}
}

// --- setup ---

// azStaff signs a user up and makes them STAFF. Only STAFF grants roles
// (grantRole), so the first one is made in the users database, as an
// operator would; then a fresh login carries the role.
func (p *platform) azStaff(username string) account {
	p.t.Helper()
	a := p.register(username)
	ctx := context.Background()
	db, err := pg.Open(ctx, p.usersConfig.DatabaseURL)
	require.NoError(p.t, err)
	defer db.Close()
	_, err = db.Exec(ctx, `UPDATE users SET roles = array_append(roles, 'STAFF') WHERE id = $1`, a.ID)
	require.NoError(p.t, err)
	return p.azLogin(a)
}

// azLogin signs a in again: the new access token carries their roles now.
func (p *platform) azLogin(a account) account {
	p.t.Helper()
	d := p.ok("", `mutation($e: String!, $pw: String!) { login(email: $e, password: $pw) { accessToken } }`,
		map[string]any{"e": a.Email, "pw": "correct horse battery"})
	a.Token = dig(d, "login", "accessToken").(string)
	return a
}

var azSeq atomic.Int64

// azFixtureOptions adds what some cases need to the standard fixture.
type azFixtureOptions struct {
	none       bool // no channel at all (createChannel)
	draft      bool // a draft by the member
	request    bool // a pending join request by the cast's requester
	restricted bool // posting restricted to the owner and admins
	archived   bool
	hidden     bool // a comment by the admin on the post, hidden by the owner
}

// azFixture is a channel with its owner, an ADMIN and a MEMBER, a post by
// the member and the member's comment on it.
type azFixture struct {
	vis, ch, slug, name string
	post, comment       string
	draft               string
	hiddenComment       string
}

// azFixture builds a fresh channel of visibility vis. A public channel
// with a pending request is made private first (requests exist only there)
// and opened once asked.
func (p *platform) azFixture(c *azCast, vis string, o azFixtureOptions) *azFixture {
	p.t.Helper()
	n := azSeq.Add(1)
	f := &azFixture{vis: vis, slug: fmt.Sprintf("authz-%d", n), name: fmt.Sprintf("Fixture %d", n)}
	if o.none {
		return f
	}
	owner := c.token(azOwner)
	first := vis
	if o.request {
		first = "PRIVATE"
	}
	ch := p.ok(owner, `mutation($s: String!, $n: String!, $v: ChannelVisibility!) { createChannel(input: {slug: $s, name: $n, description: $n, visibility: $v}) { id } }`,
		map[string]any{"s": f.slug, "n": f.name, "v": first})
	f.ch = dig(ch, "createChannel", "id").(string)
	if o.request {
		p.azJoin(c.requester, f.ch, "REQUESTED")
		if vis != first {
			p.ok(owner, `mutation($c: ID!, $v: ChannelVisibility!) { updateChannel(id: $c, input: {visibility: $v}) { id } }`, map[string]any{"c": f.ch, "v": vis})
		}
	}
	for _, who := range []int{azAdmin, azMember} {
		if vis == "PRIVATE" {
			p.ok(owner, `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status } }`, map[string]any{"c": f.ch, "u": c.who[who].ID})
		}
		p.azJoin(c.who[who], f.ch, "MEMBER")
	}
	p.ok(owner, `mutation($c: ID!, $u: ID!) { setChannelMemberRole(channelId: $c, userId: $u, role: ADMIN) { role } }`, map[string]any{"c": f.ch, "u": c.who[azAdmin].ID})
	f.post = p.azPost(c.token(azMember), f.ch, "The member's post", true)
	f.comment = p.azComment(c.token(azMember), f.post, "The member's comment")
	if o.draft {
		f.draft = p.azPost(c.token(azMember), f.ch, "The member's draft", false)
	}
	if o.hidden {
		f.hiddenComment = p.azComment(c.token(azAdmin), f.post, "The admin's hidden comment")
		p.ok(owner, `mutation($c: ID!) { hideComment(id: $c, reason: "hidden-comment") { hidden } }`, map[string]any{"c": f.hiddenComment})
	}
	if o.restricted {
		p.ok(owner, `mutation($c: ID!) { updateChannel(id: $c, input: {postingRestricted: true}) { id } }`, map[string]any{"c": f.ch})
	}
	if o.archived {
		p.ok(owner, `mutation($c: ID!) { archiveChannel(id: $c) { id } }`, map[string]any{"c": f.ch})
	}
	return f
}

func (p *platform) azJoin(a account, ch, status string) {
	p.t.Helper()
	d := p.ok(a.Token, `mutation($c: ID!) { joinChannel(id: $c) { status } }`, map[string]any{"c": ch})
	require.Equal(p.t, status, dig(d, "joinChannel", "status"))
}

func (p *platform) azPost(token, ch, title string, publish bool) string {
	p.t.Helper()
	d := p.ok(token, `mutation($c: ID!, $t: String!, $pub: Boolean!) { createPost(input: {channelId: $c, title: $t, body: "Words.", publish: $pub}) { id } }`,
		map[string]any{"c": ch, "t": title, "pub": publish})
	return dig(d, "createPost", "id").(string)
}

func (p *platform) azComment(token, post, body string) string {
	p.t.Helper()
	d := p.ok(token, `mutation($p: ID!, $b: String!) { addComment(postId: $p, body: $b) { id } }`, map[string]any{"p": post, "b": body})
	return dig(d, "addComment", "id").(string)
}

// azWorld is what the read matrix reads: a fixture with a draft, a
// pending join request and the admin's hidden comment, whose post was
// edited, pinned and liked; two hidden posts, the member's (seen by its
// author) and the admin's (not seen by the member); replies to the
// member's comment, the owner's and the admin's hidden one; and, in a
// private channel, an invitation outstanding.
type azWorld struct {
	*azFixture
	search                       string
	hiddenPostMine, hiddenPostOf string
	reply, hiddenReply           string
}

func (p *platform) azWorld(c *azCast, vis string) *azWorld {
	p.t.Helper()
	f := p.azFixture(c, vis, azFixtureOptions{draft: true, request: true, hidden: true})
	w := &azWorld{azFixture: f, search: "zanzibarquokka" + strings.ToLower(vis)}
	owner, member, admin := c.token(azOwner), c.token(azMember), c.token(azAdmin)
	// A word only this channel's description holds, for the directory.
	p.ok(owner, `mutation($c: ID!, $d: String!) { updateChannel(id: $c, input: {description: $d}) { id } }`, map[string]any{"c": f.ch, "d": "About " + w.search})
	p.ok(member, `mutation($p: ID!) { updatePost(id: $p, input: {body: "Words, edited."}) { id } }`, map[string]any{"p": f.post})
	p.ok(owner, `mutation($p: ID!) { pinPost(id: $p) { pinned } }`, map[string]any{"p": f.post})
	p.ok(admin, `mutation($p: ID!) { likePost(id: $p) { likeCount } }`, map[string]any{"p": f.post})
	hidePost := func(post, reason string) {
		p.ok(owner, `mutation($p: ID!, $r: String) { hidePost(id: $p, reason: $r) { hidden } }`, map[string]any{"p": post, "r": reason})
	}
	w.hiddenPostMine = p.azPost(member, f.ch, "Hidden, the member's", true)
	hidePost(w.hiddenPostMine, "hidden-mine")
	w.hiddenPostOf = p.azPost(admin, f.ch, "Hidden, the admin's", true)
	hidePost(w.hiddenPostOf, "hidden-of")
	reply := func(token, body string) string {
		d := p.ok(token, `mutation($p: ID!, $c: ID!, $b: String!) { addComment(postId: $p, parentId: $c, body: $b) { id } }`, map[string]any{"p": f.post, "c": f.comment, "b": body})
		return dig(d, "addComment", "id").(string)
	}
	w.reply = reply(owner, "The owner's reply")
	w.hiddenReply = reply(admin, "The admin's hidden reply")
	p.ok(owner, `mutation($c: ID!) { hideComment(id: $c) { hidden } }`, map[string]any{"c": w.hiddenReply})
	if vis == "PRIVATE" {
		p.ok(owner, `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status } }`, map[string]any{"c": f.ch, "u": c.guest.ID})
	}
	return w
}

// --- decoded JSON ---

// azIDs lists the ids of a connection's nodes (edges) or of a list of
// objects at path; nil when the path leads nowhere.
func azIDs(d map[string]any, path ...any) []string {
	v := dig(d, path...)
	if m, ok := v.(map[string]any); ok {
		v = m["edges"]
	}
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, e := range list {
		if n := dig(e, "node"); n != nil {
			e = n
		}
		if id, ok := dig(e, "id").(string); ok {
			out = append(out, id)
		} else if id, ok := dig(e, "user", "id").(string); ok {
			out = append(out, id)
		}
	}
	return out
}

// --- reads ---

// azRead is one read of the matrix. probe says whether the object read
// (channel, post, comment, connection, user) is there, and whether what is
// looked for in it is.
type azRead struct {
	name      string
	pub, priv [azN]string
	query     string
	vars      func(w *azWorld, c *azCast) map[string]any
	probe     func(w *azWorld, c *azCast, d map[string]any) (object, found bool)
	// extra checks a clean, present answer further.
	extra func(t *testing.T, w *azWorld, c *azCast, caller int, d map[string]any)
}

func azCheckRead(t *testing.T, rc azRead, w *azWorld, c *azCast, caller int, outcome string, r gqlResponse) {
	t.Helper()
	if azIsCode(outcome) {
		azRequireCode(t, r, outcome)
		return
	}
	require.Empty(t, r.Errors, "data %v", r.Data)
	object, found := rc.probe(w, c, r.Data)
	got := azOK
	switch {
	case !object:
		got = azNull
	case !found:
		got = azEmpty
	}
	require.Equal(t, outcome, got, "data %v", r.Data)
	if got == azOK && rc.extra != nil {
		rc.extra(t, w, c, caller, r.Data)
	}
}

func azVarsChannel(w *azWorld, _ *azCast) map[string]any { return map[string]any{"c": w.ch} }
func azVarsPost(w *azWorld, _ *azCast) map[string]any    { return map[string]any{"p": w.post} }

// azIn probes for id among the ids at path, in the object at
// path[:objectDepth] (absent when that is null).
func azIn(id func(w *azWorld, c *azCast) string, objectDepth int, path ...any) func(w *azWorld, c *azCast, d map[string]any) (bool, bool) {
	return func(w *azWorld, c *azCast, d map[string]any) (bool, bool) {
		if dig(d, path[:objectDepth]...) == nil {
			return false, false
		}
		return true, slices.Contains(azIDs(d, path...), id(w, c))
	}
}

// azIs probes for a non-null object at path.
func azIs(path ...any) func(w *azWorld, c *azCast, d map[string]any) (bool, bool) {
	return func(_ *azWorld, _ *azCast, d map[string]any) (bool, bool) {
		v := dig(d, path...)
		return v != nil, v != nil
	}
}

func azPostID(w *azWorld, _ *azCast) string          { return w.post }
func azChannelID(w *azWorld, _ *azCast) string       { return w.ch }
func azCommentID(w *azWorld, _ *azCast) string       { return w.comment }
func azHiddenPostOf(w *azWorld, _ *azCast) string    { return w.hiddenPostOf }
func azHiddenPostMine(w *azWorld, _ *azCast) string  { return w.hiddenPostMine }
func azHiddenCommentOf(w *azWorld, _ *azCast) string { return w.hiddenComment }

func azReads() []azRead {
	// Columns:        anon    non-member member admin owner MODERATOR STAFF
	everyone := azRow("ok ok ok ok ok ok ok")
	insiders := azRow("null null ok ok ok ok ok")
	hiddenPub := azRow("empty empty empty ok ok ok ok")
	hiddenPriv := azRow("null null empty ok ok ok ok")
	return []azRead{
		{name: "channel(id)", pub: everyone, priv: insiders,
			query: `query($c: ID!) { channel(id: $c) { id viewerRole viewerStatus } }`, vars: azVarsChannel,
			probe: azIs("channel"),
			extra: func(t *testing.T, _ *azWorld, _ *azCast, caller int, d map[string]any) {
				role := map[int]any{azMember: "MEMBER", azAdmin: "ADMIN", azOwner: "OWNER"}[caller]
				status := "NONE"
				if role != nil {
					status = "MEMBER"
				}
				require.Equal(t, role, dig(d, "channel", "viewerRole"))
				require.Equal(t, status, dig(d, "channel", "viewerStatus"))
			}},
		{name: "channel(slug)", pub: everyone, priv: insiders,
			query: `query($s: String!) { channel(slug: $s) { id } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"s": w.slug} },
			probe: azIs("channel")},
		// MODERATOR and STAFF find every channel (MayFind, Channels); the
		// SDL's "the viewer's private ones" does not say so.
		{name: "channels directory", pub: everyone, priv: azRow("empty empty ok ok ok ok ok"),
			query: `query($q: String) { channels(search: $q, first: 50) { edges { node { id } } } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"q": w.search} },
			probe: azIn(azChannelID, 1, "channels")},
		{name: "post(id)", pub: everyone, priv: insiders,
			query: `query($p: ID!) { post(id: $p) { id channel { id } } }`, vars: azVarsPost,
			probe: azIs("post")},
		{name: "post(id) a draft", pub: azRow("null null ok null null null null"), priv: azRow("null null ok null null null null"),
			query: `query($p: ID!) { post(id: $p) { id status } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"p": w.draft} },
			probe: azIs("post")},
		{name: "post(id) hidden, another's", pub: azRow("null null null ok ok ok ok"), priv: azRow("null null null ok ok ok ok"),
			query: `query($p: ID!) { post(id: $p) { id hidden } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"p": w.hiddenPostOf} },
			probe: azIs("post")},
		{name: "Post.hiddenReason", pub: azRow("null null ok ok ok ok ok"), priv: azRow("null null ok ok ok ok ok"),
			query: `query($p: ID!) { post(id: $p) { id hidden hiddenReason } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"p": w.hiddenPostMine} },
			probe: func(_ *azWorld, _ *azCast, d map[string]any) (bool, bool) {
				return dig(d, "post") != nil, dig(d, "post", "hiddenReason") == "hidden-mine"
			}},
		{name: "Post.hiddenReason not hidden", pub: azRow("empty empty empty empty empty empty empty"), priv: azRow("null null empty empty empty empty empty"),
			query: `query($p: ID!) { post(id: $p) { id hidden hiddenReason } }`, vars: azVarsPost,
			probe: func(_ *azWorld, _ *azCast, d map[string]any) (bool, bool) {
				return dig(d, "post") != nil, dig(d, "post", "hiddenReason") != nil
			}},
		{name: "comment(id)", pub: everyone, priv: insiders,
			query: `query($c: ID!) { comment(id: $c) { id post { id } } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"c": w.comment} },
			probe: azIs("comment")},
		{name: "comment(id) hidden, another's", pub: azRow("null null null ok ok ok ok"), priv: azRow("null null null ok ok ok ok"),
			query: `query($c: ID!) { comment(id: $c) { id hidden hiddenReason } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"c": w.hiddenComment} },
			probe: func(_ *azWorld, _ *azCast, d map[string]any) (bool, bool) {
				return dig(d, "comment") != nil, dig(d, "comment", "hiddenReason") == "hidden-comment"
			}},
		{name: "feed", pub: azRow("U empty ok ok ok empty empty"), priv: azRow("U empty ok ok ok empty empty"),
			query: `{ feed(first: 50) { edges { node { id } } } }`,
			vars:  func(*azWorld, *azCast) map[string]any { return nil },
			probe: azIn(azPostID, 1, "feed")},
		{name: "Channel.members", pub: everyone, priv: insiders,
			query: `query($c: ID!) { channel(id: $c) { members { edges { node { user { id } role status notifyOnPost } } } } }`, vars: azVarsChannel,
			probe: func(w *azWorld, c *azCast, d map[string]any) (bool, bool) {
				if dig(d, "channel") == nil {
					return false, false
				}
				ids := azIDs(d, "channel", "members")
				return true, len(ids) == 3 && slices.Contains(ids, c.who[azOwner].ID) && slices.Contains(ids, c.who[azAdmin].ID) && slices.Contains(ids, c.who[azMember].ID)
			},
			extra: func(t *testing.T, _ *azWorld, c *azCast, caller int, d map[string]any) {
				// notifyOnPost: shown to the member themself only.
				for _, e := range dig(d, "channel", "members", "edges").([]any) {
					n := dig(e, "node")
					if dig(n, "user", "id") == c.who[caller].ID {
						require.Equal(t, false, dig(n, "notifyOnPost"), "own membership")
					} else {
						require.Nil(t, dig(n, "notifyOnPost"), "another's membership: %v", n)
					}
				}
			}},
		{name: "Channel.joinRequests", pub: azRow("U F F ok ok F ok"), priv: azRow("null null F ok ok F ok"),
			query: `query($c: ID!) { channel(id: $c) { joinRequests { edges { node { user { id } status } } } } }`, vars: azVarsChannel,
			probe: azIn(func(_ *azWorld, c *azCast) string { return c.requester.ID }, 1, "channel", "joinRequests")},
		{name: "Channel.posts", pub: everyone, priv: insiders,
			query: `query($c: ID!) { channel(id: $c) { posts(first: 50) { edges { node { id } } } } }`, vars: azVarsChannel,
			probe: azIn(azPostID, 1, "channel", "posts")},
		{name: "Channel.posts hidden, another's", pub: hiddenPub, priv: hiddenPriv,
			query: `query($c: ID!) { channel(id: $c) { posts(first: 50) { edges { node { id } } } } }`, vars: azVarsChannel,
			probe: azIn(azHiddenPostOf, 1, "channel", "posts")},
		{name: "Channel.posts a draft", pub: azRow("empty empty empty empty empty empty empty"), priv: azRow("null null empty empty empty empty empty"),
			query: `query($c: ID!) { channel(id: $c) { posts(first: 50) { edges { node { id } } } } }`, vars: azVarsChannel,
			probe: azIn(func(w *azWorld, _ *azCast) string { return w.draft }, 1, "channel", "posts")},
		{name: "Channel.pinnedPosts", pub: everyone, priv: insiders,
			query: `query($c: ID!) { channel(id: $c) { pinnedPosts { id } } }`, vars: azVarsChannel,
			probe: azIn(azPostID, 1, "channel", "pinnedPosts")},
		{name: "Channel.topPosts", pub: everyone, priv: insiders,
			query: `query($c: ID!) { channel(id: $c) { topPosts(period: ALL) { id } } }`, vars: azVarsChannel,
			probe: azIn(azPostID, 1, "channel", "topPosts")},
		{name: "Post.comments", pub: everyone, priv: insiders,
			query: `query($p: ID!) { post(id: $p) { comments(first: 50) { edges { node { id } } } } }`, vars: azVarsPost,
			probe: azIn(azCommentID, 1, "post", "comments")},
		{name: "Post.comments hidden, another's", pub: hiddenPub, priv: hiddenPriv,
			query: `query($p: ID!) { post(id: $p) { comments(first: 50) { edges { node { id } } } } }`, vars: azVarsPost,
			probe: azIn(azHiddenCommentOf, 1, "post", "comments")},
		{name: "Post.thread", pub: everyone, priv: insiders,
			query: `query($p: ID!) { post(id: $p) { thread { edges { node { id } } } } }`, vars: azVarsPost,
			probe: azIn(azCommentID, 1, "post", "thread")},
		{name: "Post.thread hidden, another's", pub: hiddenPub, priv: hiddenPriv,
			query: `query($p: ID!) { post(id: $p) { thread { edges { node { id } } } } }`, vars: azVarsPost,
			probe: azIn(azHiddenCommentOf, 1, "post", "thread")},
		{name: "Comment.replies", pub: everyone, priv: insiders,
			query: `query($c: ID!) { comment(id: $c) { replies { edges { node { id } } } } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"c": w.comment} },
			probe: azIn(func(w *azWorld, _ *azCast) string { return w.reply }, 1, "comment", "replies")},
		{name: "Comment.replies hidden, another's", pub: hiddenPub, priv: hiddenPriv,
			query: `query($c: ID!) { comment(id: $c) { replies { edges { node { id } } } } }`,
			vars:  func(w *azWorld, _ *azCast) map[string]any { return map[string]any{"c": w.comment} },
			probe: azIn(func(w *azWorld, _ *azCast) string { return w.hiddenReply }, 1, "comment", "replies")},
		{name: "Post.edits", pub: azRow("empty empty ok ok ok ok ok"), priv: azRow("null null ok ok ok ok ok"),
			query: `query($p: ID!) { post(id: $p) { edits { title body } } }`, vars: azVarsPost,
			probe: func(_ *azWorld, _ *azCast, d map[string]any) (bool, bool) {
				edits, _ := dig(d, "post", "edits").([]any)
				return dig(d, "post") != nil, len(edits) == 1 && dig(edits, 0, "body") == "Words."
			}},
		// The member's channels: the member themself and STAFF see the
		// private ones; anyone else, fellow members included, public ones.
		{name: "User.channels", pub: everyone, priv: azRow("empty empty ok empty empty empty ok"),
			query: `query($u: ID!) { user(id: $u) { channels(first: 50) { edges { node { id } } } } }`,
			vars:  func(_ *azWorld, c *azCast) map[string]any { return map[string]any{"u": c.who[azMember].ID} },
			probe: azIn(azChannelID, 1, "user", "channels")},
		{name: "User.posts", pub: everyone, priv: azRow("empty empty ok ok ok ok ok"),
			query: `query($u: ID!) { user(id: $u) { posts(first: 50) { edges { node { id } } } } }`,
			vars:  func(_ *azWorld, c *azCast) map[string]any { return map[string]any{"u": c.who[azMember].ID} },
			probe: azIn(azPostID, 1, "user", "posts")},
		{name: "User.posts hidden, the author's own", pub: azRow("empty empty ok ok ok ok ok"), priv: azRow("empty empty ok ok ok ok ok"),
			query: `query($u: ID!) { user(id: $u) { posts(first: 50) { edges { node { id } } } } }`,
			vars:  func(_ *azWorld, c *azCast) map[string]any { return map[string]any{"u": c.who[azMember].ID} },
			probe: azIn(azHiddenPostMine, 1, "user", "posts")},
	}
}

// azOutsiders reads a private channel as those between in and out: a
// user invited (who may find the channel but not read it) and one who
// asked to join (who may not even find it).
func azOutsiders(t *testing.T, p *platform, w *azWorld, c *azCast) {
	invited, requester := c.guest.Token, c.requester.Token
	cases := []struct {
		name, token, query string
		vars               map[string]any
		check              func(t *testing.T, r gqlResponse)
	}{
		{"invited/channel(id)", invited, `query($c: ID!) { channel(id: $c) { id viewerStatus viewerRole } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) {
				require.Empty(t, r.Errors)
				require.Equal(t, map[string]any{"id": w.ch, "viewerStatus": "INVITED", "viewerRole": nil}, r.Data["channel"])
			}},
		{"invited/Channel.members", invited, `query($c: ID!) { channel(id: $c) { members { edges { node { user { id } } } } } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) { azRequireCode(t, r, "FORBIDDEN") }},
		{"invited/Channel.posts pinnedPosts topPosts", invited, `query($c: ID!) { channel(id: $c) { posts { edges { node { id } } } pinnedPosts { id } topPosts(period: ALL) { id } } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) {
				require.Empty(t, r.Errors)
				require.Equal(t, map[string]any{"posts": map[string]any{"edges": []any{}}, "pinnedPosts": []any{}, "topPosts": []any{}}, r.Data["channel"])
			}},
		{"invited/Channel.joinRequests", invited, `query($c: ID!) { channel(id: $c) { joinRequests { edges { node { user { id } } } } } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) { azRequireCode(t, r, "FORBIDDEN") }},
		{"invited/post(id)", invited, `query($p: ID!, $c: ID!) { post(id: $p) { id } comment: comment(id: $c) { id } }`, map[string]any{"p": w.post, "c": w.comment},
			func(t *testing.T, r gqlResponse) {
				require.Empty(t, r.Errors)
				require.Equal(t, map[string]any{"post": nil, "comment": nil}, r.Data)
			}},
		{"invited/addComment", invited, `mutation($p: ID!) { addComment(postId: $p, body: "Let me in") { id } }`, map[string]any{"p": w.post},
			func(t *testing.T, r gqlResponse) { azRequireCode(t, r, "NOT_FOUND") }},
		{"invited/createPost", invited, `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Early", body: "Words."}) { id } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) { azRequireCode(t, r, "FORBIDDEN") }},
		{"requester/channel(id)", requester, `query($c: ID!) { channel(id: $c) { id } }`, map[string]any{"c": w.ch},
			func(t *testing.T, r gqlResponse) {
				require.Empty(t, r.Errors)
				require.Equal(t, map[string]any{"channel": nil}, r.Data)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, p.in(t).post(tc.token, tc.query, tc.vars))
		})
	}
}

// --- mutations ---

// azMutation is one mutation of the matrix. run performs it as caller on a
// fresh fixture; effect checks an allowed call's answer and its effect,
// intact that a refused call changed nothing.
type azMutation struct {
	name      string
	opts      azFixtureOptions
	pub, priv [azN]string
	query     string
	vars      func(f *azFixture, c *azCast, caller int) map[string]any
	// prep runs before the mutation; allowed says whether the caller is
	// expected to succeed.
	prep   func(p *platform, f *azFixture, c *azCast, caller int, allowed bool)
	effect func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any)
	intact func(t *testing.T, p *platform, f *azFixture, c *azCast)
}

func azRunMutation(t *testing.T, p *platform, c *azCast, mc azMutation, vis string, caller int, outcome string) {
	f := p.azFixture(c, vis, mc.opts)
	if mc.prep != nil {
		mc.prep(p, f, c, caller, outcome == azOK)
	}
	r := p.post(c.token(caller), mc.query, mc.vars(f, c, caller))
	if azIsCode(outcome) {
		azRequireCode(t, r, outcome)
		if mc.intact != nil {
			mc.intact(t, p, f, c)
		}
		return
	}
	require.Equal(t, azOK, outcome)
	require.Empty(t, r.Errors, "data %v", r.Data)
	if mc.effect != nil {
		mc.effect(t, p, f, c, caller, r.Data)
	}
}

// azStanding is a user's viewerStatus and viewerRole in the channel, or
// "" when the channel is null to them.
func (p *platform) azStanding(token, ch string) (status string, role any) {
	p.t.Helper()
	d := p.ok(token, `query($c: ID!) { channel(id: $c) { viewerStatus viewerRole } }`, map[string]any{"c": ch})
	if dig(d, "channel") == nil {
		return "", nil
	}
	return dig(d, "channel", "viewerStatus").(string), dig(d, "channel", "viewerRole")
}

// azPostAs reads the fixture's post (or another) as token.
func (p *platform) azPostAs(token, post string) map[string]any {
	p.t.Helper()
	d := p.ok(token, `query($p: ID!) { post(id: $p) { id title status pinned hidden likeCount commentCount viewerHasLiked edits { title } } }`, map[string]any{"p": post})
	m, _ := dig(d, "post").(map[string]any)
	return m
}

func (p *platform) azCommentAs(token, comment string) map[string]any {
	p.t.Helper()
	d := p.ok(token, `query($c: ID!) { comment(id: $c) { id body deleted hidden likeCount viewerHasLiked } }`, map[string]any{"c": comment})
	m, _ := dig(d, "comment").(map[string]any)
	return m
}

func azChannelVars(f *azFixture, _ *azCast, _ int) map[string]any { return map[string]any{"c": f.ch} }
func azPostVars(f *azFixture, _ *azCast, _ int) map[string]any    { return map[string]any{"p": f.post} }
func azCommentVars(f *azFixture, _ *azCast, _ int) map[string]any {
	return map[string]any{"c": f.comment}
}

// azTarget is the variables of a membership mutation on the cast's who.
func azTarget(who int) func(f *azFixture, c *azCast, _ int) map[string]any {
	return func(f *azFixture, c *azCast, _ int) map[string]any {
		return map[string]any{"c": f.ch, "u": c.who[who].ID}
	}
}

// azStill requires who's standing in the fixture's channel unchanged.
func azStill(who int, role string) func(t *testing.T, p *platform, f *azFixture, c *azCast) {
	return func(t *testing.T, p *platform, f *azFixture, c *azCast) {
		status, r := p.azStanding(c.token(who), f.ch)
		require.Equal(t, "MEMBER", status)
		require.Equal(t, role, r)
	}
}

// azGone requires who out of the fixture's channel: no standing in a
// public one, and a private one null to them.
func azGone(who int) func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, _ map[string]any) {
	return func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, _ map[string]any) {
		status, _ := p.azStanding(c.token(who), f.ch)
		if f.vis == "PUBLIC" {
			require.Equal(t, "NONE", status)
		} else {
			require.Equal(t, "", status)
		}
	}
}

// azBanned requires who banned from the fixture's channel: joining again
// is refused.
func azBanned(who int) func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
	return func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
		require.Equal(t, "BANNED", dig(d, "banChannelMember", "status"))
		azRequireCode(t, p.post(c.token(who), `mutation($c: ID!) { joinChannel(id: $c) { status } }`, map[string]any{"c": f.ch}), "FORBIDDEN")
	}
}

// azLikeFirst has the caller like first where it may (so that the unlike
// has something to take back), the member otherwise (so that a refused
// unlike visibly leaves it).
func azLikeFirst(mutation, id string) func(p *platform, f *azFixture, c *azCast, caller int, allowed bool) {
	return func(p *platform, f *azFixture, c *azCast, caller int, allowed bool) {
		who := azMember
		if allowed {
			who = caller
		}
		target := f.post
		if id == "comment" {
			target = f.comment
		}
		p.ok(c.token(who), `mutation($i: ID!) { `+mutation+`(id: $i) { id } }`, map[string]any{"i": target})
	}
}

func azMutations() []azMutation {
	// Columns:        anon  non-member member admin owner MODERATOR STAFF
	ownerPub, ownerPriv := azRow("U F F F ok F ok"), azRow("U NF F F ok F ok")
	adminPub, adminPriv := azRow("U F F ok ok F ok"), azRow("U NF F ok ok F ok")
	memberPub, memberPriv := azRow("U F ok ok ok F F"), azRow("U NF ok ok ok F F")
	authorPub, authorPriv := azRow("U F ok F F F F"), azRow("U NF ok F F F F")
	removerPub, removerPriv := azRow("U F ok ok ok F ok"), azRow("U NF ok ok ok F ok")
	readerPub, readerPriv := azRow("U ok ok ok ok ok ok"), azRow("U NF ok ok ok ok ok")
	moderatorPub, moderatorPriv := azRow("U F F ok ok ok ok"), azRow("U NF F ok ok ok ok")
	nobodyPub, nobodyPriv := azRow("U F F F F F F"), azRow("U NF F F F F F")
	signedIn := azRow("U ok ok ok ok ok ok")

	postUnchanged := func(field string, want any) func(t *testing.T, p *platform, f *azFixture, c *azCast) {
		return func(t *testing.T, p *platform, f *azFixture, c *azCast) {
			post := p.azPostAs(c.token(azMember), f.post)
			require.NotNil(t, post)
			require.Equal(t, want, post[field])
		}
	}
	commentUnchanged := func(field string, want any) func(t *testing.T, p *platform, f *azFixture, c *azCast) {
		return func(t *testing.T, p *platform, f *azFixture, c *azCast) {
			cm := p.azCommentAs(c.token(azMember), f.comment)
			require.NotNil(t, cm)
			require.Equal(t, want, cm[field])
		}
	}

	return []azMutation{
		{name: "createChannel", opts: azFixtureOptions{none: true}, pub: signedIn, priv: signedIn,
			query: `mutation($s: String!, $v: ChannelVisibility!) { createChannel(input: {slug: $s, name: "Mine", visibility: $v}) { id visibility viewerRole owner { id } } }`,
			vars: func(f *azFixture, _ *azCast, _ int) map[string]any {
				return map[string]any{"s": f.slug, "v": f.vis}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, map[string]any{"id": c.who[caller].ID}, dig(d, "createChannel", "owner"))
				require.Equal(t, "OWNER", dig(d, "createChannel", "viewerRole"))
				require.Equal(t, f.vis, dig(d, "createChannel", "visibility"))
			}},
		{name: "updateChannel", pub: adminPub, priv: adminPriv,
			query: `mutation($c: ID!) { updateChannel(id: $c, input: {name: "Renamed"}) { name } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, "Renamed", dig(d, "updateChannel", "name"))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				d := p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { name } }`, map[string]any{"c": f.ch})
				require.Equal(t, f.name, dig(d, "channel", "name"))
			}},
		{name: "archiveChannel", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!) { archiveChannel(id: $c) { archivedAt } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.NotNil(t, dig(d, "archiveChannel", "archivedAt"))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				d := p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { archivedAt } }`, map[string]any{"c": f.ch})
				require.Equal(t, map[string]any{"archivedAt": nil}, d["channel"])
			}},
		{name: "deleteChannel", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!) { deleteChannel(id: $c) }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, true, d["deleteChannel"])
				require.Equal(t, map[string]any{"channel": nil}, p.ok(c.token(azStaff), `query($c: ID!) { channel(id: $c) { id } }`, map[string]any{"c": f.ch}))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				require.Equal(t, map[string]any{"channel": map[string]any{"id": f.ch}}, p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { id } }`, map[string]any{"c": f.ch}))
			}},
		// A private channel is asked to join; joining again is a no-op.
		{name: "joinChannel", pub: signedIn, priv: signedIn,
			query: `mutation($c: ID!) { joinChannel(id: $c) { status role user { id } } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				role := map[int]any{azMember: "MEMBER", azAdmin: "ADMIN", azOwner: "OWNER"}[caller]
				status := "MEMBER"
				if role == nil && f.vis == "PRIVATE" {
					status = "REQUESTED"
				} else if role == nil {
					role = "MEMBER"
				}
				require.Equal(t, map[string]any{"status": status, "role": role, "user": map[string]any{"id": c.who[caller].ID}}, d["joinChannel"])
			}},
		// A request to join a private channel does not open it: the answer
		// says REQUESTED, and its channel is null.
		{name: "joinChannel selecting the channel", pub: signedIn, priv: signedIn,
			query: `mutation($c: ID!) { joinChannel(id: $c) { status channel { id } } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				if caller == azStranger && f.vis == "PRIVATE" {
					require.Equal(t, map[string]any{"status": "REQUESTED", "channel": nil}, d["joinChannel"])
					return
				}
				require.Equal(t, map[string]any{"id": f.ch}, dig(d, "joinChannel", "channel"))
			}},
		{name: "leaveChannel", pub: azRow("U ok ok ok C ok ok"), priv: azRow("U ok ok ok C ok ok"),
			query: `mutation($c: ID!) { leaveChannel(id: $c) }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, true, d["leaveChannel"])
				members := azIDs(p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { members { edges { node { user { id } } } } } }`, map[string]any{"c": f.ch}), "channel", "members")
				require.NotContains(t, members, c.who[caller].ID)
				require.Contains(t, members, c.who[azOwner].ID)
			},
			intact: azStill(azOwner, "OWNER")},
		{name: "inviteToChannel", pub: adminPub, priv: adminPriv,
			query: `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status user { id } } }`,
			vars: func(f *azFixture, c *azCast, _ int) map[string]any {
				return map[string]any{"c": f.ch, "u": c.guest.ID}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				if f.vis == "PRIVATE" {
					require.Equal(t, "INVITED", dig(d, "inviteToChannel", "status"))
					status, _ := p.azStanding(c.guest.Token, f.ch)
					require.Equal(t, "INVITED", status)
				}
				// An invitation is one on a public channel too: nobody
				// becomes a member without joining.
				if f.vis == "PUBLIC" {
					require.Equal(t, "INVITED", dig(d, "inviteToChannel", "status"))
				}
				p.azJoin(c.guest, f.ch, "MEMBER") // the invitation is accepted at once
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				status, _ := p.azStanding(c.guest.Token, f.ch)
				if f.vis == "PUBLIC" {
					require.Equal(t, "NONE", status)
				} else {
					require.Equal(t, "", status)
				}
			}},
		{name: "answerJoinRequest", opts: azFixtureOptions{request: true}, pub: adminPub, priv: adminPriv,
			query: `mutation($c: ID!, $u: ID!) { answerJoinRequest(channelId: $c, userId: $u, approve: true) { status role } }`,
			vars: func(f *azFixture, c *azCast, _ int) map[string]any {
				return map[string]any{"c": f.ch, "u": c.requester.ID}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"status": "MEMBER", "role": "MEMBER"}, d["answerJoinRequest"])
				status, _ := p.azStanding(c.requester.Token, f.ch)
				require.Equal(t, "MEMBER", status)
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				d := p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { joinRequests { edges { node { user { id } } } } } }`, map[string]any{"c": f.ch})
				require.Equal(t, []string{c.requester.ID}, azIDs(d, "channel", "joinRequests"))
			}},
		{name: "setChannelMemberRole", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!, $u: ID!) { setChannelMemberRole(channelId: $c, userId: $u, role: ADMIN) { role } }`, vars: azTarget(azMember),
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, "ADMIN", dig(d, "setChannelMemberRole", "role"))
				_, role := p.azStanding(c.token(azMember), f.ch)
				require.Equal(t, "ADMIN", role)
			},
			intact: azStill(azMember, "MEMBER")},
		{name: "removeChannelMember", pub: adminPub, priv: adminPriv,
			query: `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`, vars: azTarget(azMember),
			effect: azGone(azMember), intact: azStill(azMember, "MEMBER")},
		// Admins remove members only; nobody removes the owner.
		{name: "removeChannelMember an admin", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`, vars: azTarget(azAdmin),
			effect: azGone(azAdmin), intact: azStill(azAdmin, "ADMIN")},
		{name: "removeChannelMember the owner", pub: nobodyPub, priv: nobodyPriv,
			query: `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`, vars: azTarget(azOwner),
			intact: azStill(azOwner, "OWNER")},
		{name: "banChannelMember", pub: adminPub, priv: adminPriv,
			query: `mutation($c: ID!, $u: ID!) { banChannelMember(channelId: $c, userId: $u) { status } }`, vars: azTarget(azMember),
			effect: azBanned(azMember), intact: azStill(azMember, "MEMBER")},
		{name: "banChannelMember an admin", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!, $u: ID!) { banChannelMember(channelId: $c, userId: $u) { status } }`, vars: azTarget(azAdmin),
			effect: azBanned(azAdmin), intact: azStill(azAdmin, "ADMIN")},
		{name: "banChannelMember the owner", pub: nobodyPub, priv: nobodyPriv,
			query: `mutation($c: ID!, $u: ID!) { banChannelMember(channelId: $c, userId: $u) { status } }`, vars: azTarget(azOwner),
			intact: azStill(azOwner, "OWNER")},
		{name: "transferChannelOwnership", pub: ownerPub, priv: ownerPriv,
			query: `mutation($c: ID!, $u: ID!) { transferChannelOwnership(channelId: $c, userId: $u) { owner { id } } }`, vars: azTarget(azMember),
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"id": c.who[azMember].ID}, dig(d, "transferChannelOwnership", "owner"))
				_, role := p.azStanding(c.token(azMember), f.ch)
				require.Equal(t, "OWNER", role)
				_, role = p.azStanding(c.token(azOwner), f.ch)
				require.Equal(t, "ADMIN", role, "the old owner stays as ADMIN")
			},
			intact: azStill(azOwner, "OWNER")},
		// The caller's own notifications: members only.
		{name: "setChannelNotifications", pub: azRow("U NF ok ok ok NF NF"), priv: azRow("U NF ok ok ok NF NF"),
			query: `mutation($c: ID!) { setChannelNotifications(channelId: $c, notifyOnPost: true) { notifyOnPost user { id } } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, map[string]any{"notifyOnPost": true, "user": map[string]any{"id": c.who[caller].ID}}, d["setChannelNotifications"])
			}},
		{name: "createPost", pub: memberPub, priv: memberPriv,
			query: `mutation($c: ID!) { createPost(input: {channelId: $c, title: "New", body: "Words."}) { id status author { id } } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, map[string]any{"id": c.who[caller].ID}, dig(d, "createPost", "author"))
				require.NotNil(t, p.azPostAs(c.token(azMember), dig(d, "createPost", "id").(string)), "published for the members")
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				d := p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { postCount } }`, map[string]any{"c": f.ch})
				require.EqualValues(t, 1, dig(d, "channel", "postCount"))
			}},
		{name: "createPost where posting is restricted", opts: azFixtureOptions{restricted: true},
			pub: azRow("U F F ok ok F F"), priv: azRow("U NF F ok ok F F"),
			query: `mutation($c: ID!) { createPost(input: {channelId: $c, title: "New", body: "Words."}) { id author { id } } }`, vars: azChannelVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, map[string]any{"id": c.who[caller].ID}, dig(d, "createPost", "author"))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				d := p.ok(c.token(azOwner), `query($c: ID!) { channel(id: $c) { postCount } }`, map[string]any{"c": f.ch})
				require.EqualValues(t, 1, dig(d, "channel", "postCount"))
			}},
		{name: "updatePost", pub: authorPub, priv: authorPriv,
			query: `mutation($p: ID!) { updatePost(id: $p, input: {title: "Retitled"}) { title } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, "Retitled", dig(d, "updatePost", "title"))
				require.Equal(t, []any{map[string]any{"title": "The member's post"}}, p.azPostAs(c.token(azMember), f.post)["edits"])
			},
			intact: postUnchanged("title", "The member's post")},
		// A draft is the author's alone: NOT_FOUND for everyone else.
		{name: "publishPost", opts: azFixtureOptions{draft: true},
			pub: azRow("U NF ok NF NF NF NF"), priv: azRow("U NF ok NF NF NF NF"),
			query: `mutation($p: ID!) { publishPost(id: $p) { status } }`,
			vars: func(f *azFixture, _ *azCast, _ int) map[string]any {
				return map[string]any{"p": f.draft}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, "PUBLISHED", dig(d, "publishPost", "status"))
				require.NotNil(t, p.azPostAs(c.token(azOwner), f.draft))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				require.Equal(t, "DRAFT", p.azPostAs(c.token(azMember), f.draft)["status"])
				require.Nil(t, p.azPostAs(c.token(azOwner), f.draft))
			}},
		{name: "deletePost", pub: removerPub, priv: removerPriv,
			query: `mutation($p: ID!) { deletePost(id: $p) }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, true, d["deletePost"])
				require.Nil(t, p.azPostAs(c.token(azMember), f.post))
			},
			intact: func(t *testing.T, p *platform, f *azFixture, c *azCast) {
				require.NotNil(t, p.azPostAs(c.token(azMember), f.post))
			}},
		{name: "pinPost", pub: adminPub, priv: adminPriv,
			query: `mutation($p: ID!) { pinPost(id: $p) { pinned } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, true, dig(d, "pinPost", "pinned"))
				require.Equal(t, true, p.azPostAs(c.token(azMember), f.post)["pinned"])
			},
			intact: postUnchanged("pinned", false)},
		{name: "addComment", pub: memberPub, priv: memberPriv,
			query: `mutation($p: ID!) { addComment(postId: $p, body: "Mine too") { id author { id } } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, caller int, d map[string]any) {
				require.Equal(t, map[string]any{"id": c.who[caller].ID}, dig(d, "addComment", "author"))
				require.EqualValues(t, 2, p.azPostAs(c.token(azMember), f.post)["commentCount"])
			},
			intact: postUnchanged("commentCount", float64(1))},
		{name: "updateComment", pub: authorPub, priv: authorPriv,
			query: `mutation($c: ID!) { updateComment(id: $c, body: "Reworded") { body } }`, vars: azCommentVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, "Reworded", dig(d, "updateComment", "body"))
			},
			intact: commentUnchanged("body", "The member's comment")},
		{name: "deleteComment", pub: removerPub, priv: removerPriv,
			query: `mutation($c: ID!) { deleteComment(id: $c) }`, vars: azCommentVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, true, d["deleteComment"])
				require.EqualValues(t, 0, p.azPostAs(c.token(azMember), f.post)["commentCount"])
			},
			intact: commentUnchanged("deleted", false)},
		// Liking takes reading: everyone who reads the post.
		{name: "likePost", pub: readerPub, priv: readerPriv,
			query: `mutation($p: ID!) { likePost(id: $p) { likeCount viewerHasLiked } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"likeCount": float64(1), "viewerHasLiked": true}, d["likePost"])
			},
			intact: postUnchanged("likeCount", float64(0))},
		{name: "unlikePost", pub: readerPub, priv: readerPriv, prep: azLikeFirst("likePost", "post"),
			query: `mutation($p: ID!) { unlikePost(id: $p) { likeCount viewerHasLiked } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"likeCount": float64(0), "viewerHasLiked": false}, d["unlikePost"])
			},
			intact: postUnchanged("likeCount", float64(1))},
		{name: "likeComment", pub: readerPub, priv: readerPriv,
			query: `mutation($c: ID!) { likeComment(id: $c) { likeCount viewerHasLiked } }`, vars: azCommentVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"likeCount": float64(1), "viewerHasLiked": true}, d["likeComment"])
			},
			intact: commentUnchanged("likeCount", float64(0))},
		{name: "unlikeComment", pub: readerPub, priv: readerPriv, prep: azLikeFirst("likeComment", "comment"),
			query: `mutation($c: ID!) { unlikeComment(id: $c) { likeCount viewerHasLiked } }`, vars: azCommentVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"likeCount": float64(0), "viewerHasLiked": false}, d["unlikeComment"])
			},
			intact: commentUnchanged("likeCount", float64(1))},
		// Nobody acts on a comment they may not see: a hidden comment is
		// its author's and its moderators' only.
		{name: "likeComment a hidden comment", opts: azFixtureOptions{hidden: true},
			pub: azRow("U NF NF ok ok ok ok"), priv: azRow("U NF NF ok ok ok ok"),
			query: `mutation($c: ID!) { likeComment(id: $c) { likeCount } }`,
			vars: func(f *azFixture, _ *azCast, _ int) map[string]any {
				return map[string]any{"c": f.hiddenComment}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.EqualValues(t, 1, dig(d, "likeComment", "likeCount"))
			}},
		// A hidden comment takes no replies from who may not see it: to
		// them it is not there (BAD_USER_INPUT, as for an unknown parent).
		{name: "addComment replying to a hidden comment", opts: azFixtureOptions{hidden: true},
			pub: azRow("U F BAD ok ok F F"), priv: azRow("U NF BAD ok ok F F"),
			query: `mutation($p: ID!, $c: ID!) { addComment(postId: $p, parentId: $c, body: "Re") { depth parent { id } } }`,
			vars: func(f *azFixture, _ *azCast, _ int) map[string]any {
				return map[string]any{"p": f.post, "c": f.hiddenComment}
			},
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"depth": float64(1), "parent": map[string]any{"id": f.hiddenComment}}, d["addComment"])
			}},
		{name: "hidePost", pub: moderatorPub, priv: moderatorPriv,
			query: `mutation($p: ID!) { hidePost(id: $p, reason: "off topic") { hidden hiddenReason } }`, vars: azPostVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"hidden": true, "hiddenReason": "off topic"}, d["hidePost"])
				require.Nil(t, p.azPostAs("", f.post), "hidden from everyone but the author and moderators")
				require.Equal(t, true, p.azPostAs(c.token(azMember), f.post)["hidden"], "the author still sees it")
			},
			intact: postUnchanged("hidden", false)},
		{name: "hideComment", pub: moderatorPub, priv: moderatorPriv,
			query: `mutation($c: ID!) { hideComment(id: $c, reason: "off topic") { hidden hiddenReason } }`, vars: azCommentVars,
			effect: func(t *testing.T, p *platform, f *azFixture, c *azCast, _ int, d map[string]any) {
				require.Equal(t, map[string]any{"hidden": true, "hiddenReason": "off topic"}, d["hideComment"])
				require.Nil(t, p.azCommentAs(c.token(azStranger), f.comment), "hidden from everyone but the author and moderators")
				require.Equal(t, true, p.azCommentAs(c.token(azMember), f.comment)["hidden"], "the author still sees it")
			},
			intact: commentUnchanged("hidden", false)},
	}
}

// azArchived: an archived channel is read-only for its own members too.
func azArchived(t *testing.T, p *platform, c *azCast) {
	f := p.azFixture(c, "PUBLIC", azFixtureOptions{archived: true})
	member := c.token(azMember)
	for name, r := range map[string]gqlResponse{
		"createPost":    p.post(member, `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Late", body: "Words."}) { id } }`, map[string]any{"c": f.ch}),
		"addComment":    p.post(member, `mutation($p: ID!) { addComment(postId: $p, body: "Late") { id } }`, map[string]any{"p": f.post}),
		"likePost":      p.post(member, `mutation($p: ID!) { likePost(id: $p) { id } }`, map[string]any{"p": f.post}),
		"joinChannel":   p.post(c.token(azStranger), `mutation($c: ID!) { joinChannel(id: $c) { status } }`, map[string]any{"c": f.ch}),
		"updateChannel": p.post(c.token(azOwner), `mutation($c: ID!) { updateChannel(id: $c, input: {name: "Late"}) { id } }`, map[string]any{"c": f.ch}),
	} {
		t.Run(name, func(t *testing.T) { azRequireCode(t, r, "CONFLICT") })
	}
	// Still readable.
	require.NotNil(t, p.azPostAs("", f.post))
}

// azSubscriptions: the live streams (commentAdded, postAdded) of a private
// channel are its readers' (members, MODERATOR, STAFF), and stop being a
// member's once they are removed.
func azSubscriptions(t *testing.T, p *platform, c *azCast) {
	const (
		commentAdded = `subscription($p: ID!, $after: ID) { commentAdded(postId: $p, after: $after) { id body } }`
		postAdded    = `subscription($c: ID!, $after: ID) { postAdded(channelId: $c, after: $after) { id title } }`
	)
	pub, priv := p.azFixture(c, "PUBLIC", azFixtureOptions{}), p.azFixture(c, "PRIVATE", azFixtureOptions{})
	owner := c.token(azOwner)
	p.ok(owner, `mutation($c: ID!, $u: ID!) { inviteToChannel(channelId: $c, userId: $u) { status } }`, map[string]any{"c": priv.ch, "u": c.guest.ID})

	t.Run("refused", func(t *testing.T) {
		p := p.in(t)
		for _, tc := range []struct {
			name, token, query string
			vars               map[string]any
			code               string
		}{
			{"anonymous/commentAdded", "", commentAdded, map[string]any{"p": priv.post}, "NOT_FOUND"},
			{"anonymous/postAdded", "", postAdded, map[string]any{"c": priv.ch}, "NOT_FOUND"},
			{"non-member/commentAdded", c.token(azStranger), commentAdded, map[string]any{"p": priv.post}, "NOT_FOUND"},
			{"non-member/postAdded", c.token(azStranger), postAdded, map[string]any{"c": priv.ch}, "NOT_FOUND"},
			{"invited/commentAdded", c.guest.Token, commentAdded, map[string]any{"p": priv.post}, "NOT_FOUND"},
			{"invited/postAdded", c.guest.Token, postAdded, map[string]any{"c": priv.ch}, "FORBIDDEN"},
		} {
			ws := p.dial(tc.token)
			op := ws.Subscribe(tc.query, tc.vars)
			require.Equal(t, tc.code, ws.OpError(op).Extensions["code"], tc.name)
			ws.Close()
		}
	})

	t.Run("allowed", func(t *testing.T) {
		p := p.in(t)
		// One connection per subscription: events of two operations on one
		// connection come in no set order.
		type follower struct {
			name, field, want string
			ws                wsClient
			op                string
		}
		var fs []follower
		add := func(name, token string, f *azFixture) {
			for _, s := range []struct {
				field, query string
				vars         map[string]any
			}{
				// From the fixture's comment and post on: whenever each
				// subscription becomes live, the events after them arrive
				// (replayed or live), so no follower can start too late.
				{"commentAdded", commentAdded, map[string]any{"p": f.post, "after": f.comment}},
				{"postAdded", postAdded, map[string]any{"c": f.ch, "after": f.post}},
			} {
				ws := p.dial(token)
				fs = append(fs, follower{name: name, field: s.field, want: "Live " + f.vis, ws: ws, op: ws.Subscribe(s.query, s.vars)})
			}
		}
		add("anonymous, public", "", pub)
		add("non-member, public", c.token(azStranger), pub)
		for _, who := range []int{azMember, azAdmin, azOwner, azModerator, azStaff} {
			add(azCallers[who]+", private", c.token(who), priv)
		}
		for _, f := range []*azFixture{pub, priv} {
			p.waitListening("content:post:" + f.post + ":comments")
			p.waitListening("content:channel:" + f.ch + ":posts")
		}
		for _, f := range []*azFixture{pub, priv} {
			p.azComment(owner, f.post, "Live "+f.vis)
			p.azPost(owner, f.ch, "Live "+f.vis, true)
		}
		for _, f := range fs {
			e := f.ws.Event(f.op, f.field)
			if f.field == "commentAdded" {
				require.Equal(t, f.want, e["body"], f.name)
			} else {
				require.Equal(t, f.want, e["title"], f.name)
			}
			f.ws.Close()
		}
	})

	t.Run("removed member", func(t *testing.T) {
		p := p.in(t)
		f := p.azFixture(c, "PRIVATE", azFixtureOptions{})
		ws := p.dial(c.token(azMember))
		posts := ws.Subscribe(postAdded, map[string]any{"c": f.ch})
		p.waitListening("content:channel:" + f.ch + ":posts")
		p.azPost(owner, f.ch, "Before", true)
		require.Equal(t, "Before", ws.Event(posts, "postAdded")["title"])
		p.ok(owner, `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`, map[string]any{"c": f.ch, "u": c.who[azMember].ID})
		p.azPost(owner, f.ch, "After", true)
		ws.Quiet(500 * time.Millisecond)
	})

	// Removed from a private channel, a subscriber hears no more of it:
	// every event is read as the subscriber.
	t.Run("removed member, comments", func(t *testing.T) {
		p := p.in(t)
		f := p.azFixture(c, "PRIVATE", azFixtureOptions{})
		ws := p.dial(c.token(azMember))
		comments := ws.Subscribe(commentAdded, map[string]any{"p": f.post})
		p.waitListening("content:post:" + f.post + ":comments")
		p.azComment(owner, f.post, "Before")
		require.Equal(t, "Before", ws.Event(comments, "commentAdded")["body"])
		p.ok(owner, `mutation($c: ID!, $u: ID!) { removeChannelMember(channelId: $c, userId: $u) }`, map[string]any{"c": f.ch, "u": c.who[azMember].ID})
		p.azComment(owner, f.post, "After")
		ws.Quiet(500 * time.Millisecond)
	})
}
