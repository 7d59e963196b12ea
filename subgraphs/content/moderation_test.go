package content_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

const (
	hidePost    = `mutation($id: ID!, $h: Boolean!, $r: String) { hidePost(id: $id, hidden: $h, reason: $r) { id hidden hiddenReason } }`
	hideComment = `mutation($id: ID!, $h: Boolean!, $r: String) { hideComment(id: $id, hidden: $h, reason: $r) { id hidden hiddenReason } }`
)

func TestHiddenPostIsSeenByItsAuthorAndModeratorsOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("moderated", "PUBLIC")
	moderator := newPerson(identity.RoleModerator)
	author, reader := newPerson(), newPerson()
	e.join(author, c.channel)
	e.join(reader, c.channel)
	bad := e.createPost(author, c.channel, "Spam")
	good := e.createPost(c.member, c.channel, "Fine")
	e.liked(reader, likePost, bad)

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), hidePost, vars{"id": bad, "h": true, "r": "mine"}).Code(t), "members do not moderate")
	require.Equal(t, "FORBIDDEN", e.Do(e.as(author), hidePost, vars{"id": bad, "h": true}).Code(t))
	r := e.Do(e.as(moderator), hidePost, vars{"id": bad, "h": true, "r": strings.Repeat("r", 501)})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "reason", r.Field(t))

	r = e.Do(e.as(moderator), hidePost, vars{"id": bad, "h": true, "r": "Advertising"}).NoErrors(t)
	require.Equal(t, map[string]any{"id": bad, "hidden": true, "hiddenReason": "Advertising"}, r.Data["hidePost"], "a MODERATOR needs no membership")

	// Gone for everyone else, wherever they look.
	for _, p := range []person{reader, c.member, c.stranger} {
		require.Nil(t, e.readPost(p, bad))
		require.Equal(t, []string{"Fine"}, e.channelPosts(p, c.channel, 20))
	}
	require.Equal(t, []string{"Fine"}, e.feed(reader, 20))
	r = e.Do(e.as(reader), `query($id: ID!) { channel(id: $id) { topPosts(period: ALL) { title } } }`, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, []any{map[string]any{"title": "Fine"}}, field(r.Data, "channel", "topPosts"))
	require.Empty(t, values(e.user(e.as(reader), author.ID, `posts { edges { node { title } } }`)["posts"], "title"))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(reader), addComment, vars{"p": bad, "b": "still here?"}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(reader), likePost, vars{"id": bad}).Code(t))

	// Its author and the moderators still see it, and why.
	for _, p := range []person{author, moderator, c.admin, c.owner, c.staff} {
		got := e.readPost(p, bad)
		require.NotNil(t, got, "%v", p)
		require.Equal(t, true, got["hidden"])
		require.Equal(t, "Advertising", got["hiddenReason"])
	}
	require.Equal(t, []string{"Fine", "Spam"}, e.channelPosts(author, c.channel, 20))
	require.Equal(t, []string{"Fine", "Spam"}, e.channelPosts(c.admin, c.channel, 20))
	require.Equal(t, []string{"Fine", "Spam"}, e.channelPosts(moderator, c.channel, 20))
	require.Equal(t, []string{"Fine", "Spam"}, e.feed(author, 20))
	require.Equal(t, []any{"Spam"}, values(e.user(e.as(author), author.ID, `posts { edges { node { title } } }`)["posts"], "title"))
	require.Equal(t, []any{"Spam"}, values(e.user(e.as(moderator), author.ID, `posts { edges { node { title } } }`)["posts"], "title"))
	require.Equal(t, []any{"Spam"}, values(e.user(e.as(c.admin), author.ID, `posts { edges { node { title } } }`)["posts"], "title"))

	// Channel admins moderate their channel; a reason is optional.
	r = e.Do(e.as(c.admin), hidePost, vars{"id": good, "h": true}).NoErrors(t)
	require.Equal(t, map[string]any{"id": good, "hidden": true, "hiddenReason": nil}, r.Data["hidePost"])
	require.Empty(t, e.channelPosts(reader, c.channel, 20))

	// Shown again: all as before, the reason gone.
	r = e.Do(e.as(c.owner), hidePost, vars{"id": bad, "h": false}).NoErrors(t)
	require.Equal(t, map[string]any{"id": bad, "hidden": false, "hiddenReason": nil}, r.Data["hidePost"])
	got := e.readPost(reader, bad)
	require.NotNil(t, got)
	require.Equal(t, false, got["hidden"])
	require.Nil(t, got["hiddenReason"])
	require.EqualValues(t, 1, got["likeCount"])
	require.Equal(t, []string{"Spam"}, e.channelPosts(reader, c.channel, 20))
	require.Equal(t, []string{"Spam"}, e.feed(reader, 20))
	e.Do(e.as(moderator), hidePost, vars{"id": good, "h": false}).NoErrors(t)
	require.Equal(t, []string{"Fine", "Spam"}, e.channelPosts(reader, c.channel, 20))
}

func TestHiddenCommentIsSeenByItsAuthorAndModeratorsOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("comment-moderation", "PUBLIC")
	moderator := newPerson(identity.RoleModerator)
	troll := newPerson()
	e.join(troll, c.channel)
	postID := e.createPost(c.owner, c.channel, "Topic")
	top := e.comment(c.member, postID, "", "top")
	rude := e.comment(troll, postID, top, "rude reply")
	polite := e.comment(c.owner, postID, top, "polite reply")
	rudeTop := e.comment(troll, postID, "", "rude top")
	under := e.comment(c.member, postID, rude, "answer to the rude one")

	require.Equal(t, "FORBIDDEN", e.Do(e.as(c.member), hideComment, vars{"id": rude, "h": true}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(troll), hideComment, vars{"id": rude, "h": true}).Code(t))
	r := e.Do(e.as(c.admin), hideComment, vars{"id": rude, "h": true, "r": "Insults"}).NoErrors(t)
	require.Equal(t, map[string]any{"id": rude, "hidden": true, "hiddenReason": "Insults"}, r.Data["hideComment"])
	r = e.Do(e.as(moderator), hideComment, vars{"id": rudeTop, "h": true, "r": "Insults too"}).NoErrors(t)
	require.Equal(t, true, field(r.Data, "hideComment", "hidden"))

	view := `query($p: ID!, $c: ID!) {
	  post(id: $p) {
	    thread { edges { node { id hidden hiddenReason } } }
	    comments { edges { node { id replies { edges { node { id hidden hiddenReason } } } } } }
	  }
	  comment(id: $c) { id hidden hiddenReason }
	}`
	type seen struct {
		thread, tops, replies []string
		byID                  map[string]any
	}
	look := func(p person) seen {
		t.Helper()
		r := e.Do(e.as(p), view, vars{"p": postID, "c": rude}).NoErrors(t)
		var s seen
		s.thread = ids(field(r.Data, "post", "thread"))
		tops := nodes(field(r.Data, "post", "comments"))
		for _, n := range tops {
			s.tops = append(s.tops, n["id"].(string))
		}
		s.replies = ids(tops[0]["replies"])
		s.byID, _ = r.Data["comment"].(map[string]any)
		return s
	}

	// Others: gone from the thread, the lists and by id (what answered it
	// stays in the thread).
	for _, p := range []person{c.member, c.stranger} {
		s := look(p)
		require.Equal(t, []string{top, under, polite}, s.thread, "%v", p)
		require.Equal(t, []string{top}, s.tops)
		require.Equal(t, []string{polite}, s.replies)
		require.Nil(t, s.byID)
	}
	r = e.Do(e.as(c.member), addComment, vars{"p": postID, "parent": rude, "b": "reply to hidden"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t), "a hidden comment takes no replies from who cannot see it")
	require.Equal(t, "parentId", r.Field(t))

	// The author, the channel's admins and moderators: still there, marked.
	for _, p := range []person{troll, c.admin, c.owner, moderator, c.staff} {
		s := look(p)
		require.Equal(t, []string{top, rude, under, polite, rudeTop}, s.thread, "thread as %v", p)
		require.Equal(t, []string{top, rudeTop}, s.tops, "comments as %v", p)
		require.Equal(t, []string{rude, polite}, s.replies, "replies as %v", p)
		require.Equal(t, map[string]any{"id": rude, "hidden": true, "hiddenReason": "Insults"}, s.byID, "by id as %v", p)
	}

	// Shown again.
	r = e.Do(e.as(c.owner), hideComment, vars{"id": rude, "h": false}).NoErrors(t)
	require.Equal(t, map[string]any{"id": rude, "hidden": false, "hiddenReason": nil}, r.Data["hideComment"])
	s := look(c.stranger)
	require.Equal(t, []string{rude, polite}, s.replies)
	require.Equal(t, map[string]any{"id": rude, "hidden": false, "hiddenReason": nil}, s.byID)
	require.Equal(t, []string{top}, s.tops, "the other one stays hidden")
}
