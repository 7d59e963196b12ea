package content_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
)

const (
	commentAdded = `subscription($p: ID!, $after: ID) { commentAdded(postId: $p, after: $after) { id body depth author { id } parent { id } } }`
	postAdded    = `subscription($c: ID!, $after: ID) { postAdded(channelId: $c, after: $after) { id title status author { id } } }`
)

func commentsTopic(postID string) string { return "content:post:" + postID + ":comments" }
func postsTopic(channel string) string   { return "content:channel:" + channel + ":posts" }

// dbOrder lists ids in the database's order.
func (e *env) dbOrder(query string, args ...any) []string {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(), query, args...)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		require.NoError(e.T, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(e.T, rows.Err())
	return out
}

func TestCommentAddedDeliversNewCommentsLive(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("live-comments", "PUBLIC")
	postID := e.createPost(c.owner, c.channel, "Live")
	before := e.comment(c.member, postID, "", "before the subscription")
	other := e.createPost(c.owner, c.channel, "Elsewhere")

	ws := e.DialWS(e.as(c.stranger)) // public: anyone may follow it
	id := ws.Subscribe(commentAdded, vars{"p": postID})
	waitSubscribed(t, e, commentsTopic(postID))

	e.comment(c.admin, other, "", "on another post")
	top := e.comment(c.admin, postID, "", "live one")
	reply := e.comment(c.member, postID, before, "live reply")
	got := ws.Event(id, "commentAdded")
	require.Equal(t, map[string]any{"id": top, "body": "live one", "depth": 0.0, "author": map[string]any{"id": c.admin.ID}, "parent": nil}, got)
	got = ws.Event(id, "commentAdded")
	require.Equal(t, reply, got["id"])
	require.Equal(t, 1.0, got["depth"])
	require.Equal(t, before, str(got, "parent", "id"))

	// Stopping ends the subscription: the hub lets the topic go.
	ws.Stop(id)
	ws.Expect(id, "complete")
	require.Eventually(t, func() bool {
		n, err := e.Redis.PubSubNumSub(t.Context(), commentsTopic(postID)).Result()
		return err == nil && n[commentsTopic(postID)] == 0
	}, 5*time.Second, 5*time.Millisecond)
	e.comment(c.admin, postID, "", "after the stop")
	ws.Quiet(200 * time.Millisecond)
}

func TestCommentAddedReplaysAfterWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("replay-comments", "PUBLIC")
	postID := e.createPost(c.owner, c.channel, "Busy")
	var first []string
	for i := range 3 {
		first = append(first, e.comment(c.member, postID, "", fmt.Sprint("early ", i)))
	}

	// Comments keep coming, replies among them, from several writers, while
	// the client subscribes from the first one.
	const more = 30
	writers := []subgraphtest.Caller{e.as(c.owner), e.as(c.admin), e.as(c.member)}
	start := make(chan struct{})
	errs := make(chan error, more)
	var wg sync.WaitGroup
	for w, caller := range writers {
		wg.Go(func() {
			<-start
			for i := w; i < more; i += len(writers) {
				v := vars{"p": postID, "b": fmt.Sprint("more ", i)}
				if i%4 == 0 {
					v["parent"] = first[1]
				}
				_, err := send(e, caller, addComment, v)
				errs <- err
			}
		})
	}
	ws := e.DialWS(e.as(c.member))
	id := ws.Subscribe(commentAdded, vars{"p": postID, "after": first[0]})
	close(start)

	var got []string
	for len(got) < 2+more {
		got = append(got, ws.Event(id, "commentAdded")["id"].(string))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	want := e.dbOrder(`SELECT id::text FROM comments WHERE post_id = $1 AND id <> $2 ORDER BY seq`, postID, first[0])
	require.Equal(t, want, got, "every comment after the first once, in the order they were committed")
	require.Equal(t, first[1:], got[:2], "the missed ones first")
	ws.Quiet(200 * time.Millisecond)
}

func TestCommentAddedChecksTheReader(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("secret-live", "PRIVATE")
	postID := e.createPost(c.owner, c.channel, "Members only")
	seen := e.comment(c.owner, postID, "", "the last one the clients have")
	pub := e.createChannel(c.owner, "public-live", "PUBLIC")
	otherPost := e.createPost(c.owner, pub, "Public")
	foreign := e.comment(c.owner, otherPost, "", "on another post")

	for _, caller := range []subgraphtest.Caller{e.as(c.stranger), e.Anonymous()} {
		ws := e.DialWS(caller)
		sub := ws.Subscribe(commentAdded, vars{"p": postID})
		require.Equal(t, "NOT_FOUND", ws.OpError(sub).Extensions["code"], "a non-member learns nothing")
		ws.Expect(sub, "complete")
	}

	ws := e.DialWS(e.as(c.member))
	for _, after := range []string{foreign, newPerson().ID, "garbage"} {
		sub := ws.Subscribe(commentAdded, vars{"p": postID, "after": after})
		require.Equal(t, "BAD_USER_INPUT", ws.OpError(sub).Extensions["code"], "after=%s", after)
		ws.Expect(sub, "complete")
	}
	// Members and STAFF follow it (from the comment they have: nothing is
	// missed however long subscribing takes).
	sub := ws.Subscribe(commentAdded, vars{"p": postID, "after": seen})
	staff := e.DialWS(e.as(c.staff))
	staffSub := staff.Subscribe(commentAdded, vars{"p": postID, "after": seen})
	cm := e.comment(c.admin, postID, "", "for members")
	require.Equal(t, cm, ws.Event(sub, "commentAdded")["id"])
	require.Equal(t, cm, staff.Event(staffSub, "commentAdded")["id"])
}

// Each comment is read as the subscriber when it is sent: removed from a
// private channel, a follower stops getting its comments at once, not when
// the connection ends; hidden ones reach their author and moderators only.
func TestCommentAddedStopsForARemovedMember(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("leaky", "PRIVATE")
	postID := e.createPost(c.owner, c.channel, "Members only")
	seen := e.comment(c.owner, postID, "", "the last one the client has")
	ws := e.DialWS(e.as(c.member))
	sub := ws.Subscribe(commentAdded, vars{"p": postID, "after": seen})
	first := e.comment(c.admin, postID, "", "while a member")
	require.Equal(t, first, ws.Event(sub, "commentAdded")["id"])

	// Each event is read as the subscriber when it is sent: once removed,
	// nothing more comes. The subscription is stopped while they are still
	// out, so whenever the event is handled, it is handled for a non-member.
	e.Do(e.as(c.owner), removeMutation, vars{"c": c.channel, "u": c.member.ID}).NoErrors(t)
	removed := e.comment(c.admin, postID, "", "after the removal")
	ws.Stop(sub)
	ws.Expect(sub, "complete")

	// A ban, the same.
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": c.member.ID}).NoErrors(t)
	e.join(c.member, c.channel)
	sub = ws.Subscribe(commentAdded, vars{"p": postID, "after": removed})
	back := e.comment(c.admin, postID, "", "back again")
	require.Equal(t, back, ws.Event(sub, "commentAdded")["id"])
	e.Do(e.as(c.owner), banMutation, vars{"c": c.channel, "u": c.member.ID, "b": true}).NoErrors(t)
	banned := e.comment(c.admin, postID, "", "while banned")
	ws.Stop(sub)
	ws.Expect(sub, "complete")
	e.Do(e.as(c.owner), banMutation, vars{"c": c.channel, "u": c.member.ID, "b": false}).NoErrors(t)
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": c.member.ID}).NoErrors(t)
	e.join(c.member, c.channel)
	last := banned

	// Replayed, a hidden comment reaches its author and moderators only.
	hidden := e.comment(c.owner, postID, "", "to be hidden")
	e.Do(e.as(c.admin), hideComment, vars{"id": hidden, "h": true}).NoErrors(t)
	visible := e.comment(c.owner, postID, "", "visible")
	sub = ws.Subscribe(commentAdded, vars{"p": postID, "after": last})
	require.Equal(t, visible, ws.Event(sub, "commentAdded")["id"])
	admin := e.DialWS(e.as(c.admin))
	adminSub := admin.Subscribe(commentAdded, vars{"p": postID, "after": last})
	require.Equal(t, hidden, admin.Event(adminSub, "commentAdded")["id"])
	require.Equal(t, visible, admin.Event(adminSub, "commentAdded")["id"])
}

func TestPostAddedDeliversPublishedPosts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("live-posts", "PUBLIC")
	other := e.createChannel(c.owner, "other-posts", "PUBLIC")
	ws := e.DialWS(e.as(c.stranger))
	id := ws.Subscribe(postAdded, vars{"c": c.channel})
	waitSubscribed(t, e, postsTopic(c.channel))

	draft := e.draft(c.member, c.channel, "Not yet")
	e.createPost(c.owner, other, "Elsewhere")
	live := e.createPost(c.admin, c.channel, "Fresh")
	got := ws.Event(id, "postAdded")
	require.Equal(t, map[string]any{"id": live, "title": "Fresh", "status": "PUBLISHED", "author": map[string]any{"id": c.admin.ID}}, got, "drafts are not announced")
	e.Do(e.as(c.member), `mutation($id: ID!) { publishPost(id: $id) { id } }`, vars{"id": draft}).NoErrors(t)
	got = ws.Event(id, "postAdded")
	require.Equal(t, draft, got["id"])
	require.Equal(t, "PUBLISHED", got["status"])
	e.Do(e.as(c.member), `mutation($id: ID!) { publishPost(id: $id) { id } }`, vars{"id": draft}).NoErrors(t) // again: no event
	last := e.createPost(c.owner, c.channel, "Last")
	require.Equal(t, last, ws.Event(id, "postAdded")["id"])
	ws.Quiet(200 * time.Millisecond)
}

func TestPostAddedReplaysAfterWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("replay-posts", "PUBLIC")
	var first []string
	for i := range 3 {
		first = append(first, e.createPost(c.member, c.channel, fmt.Sprint("early ", i)))
	}
	// A deleted one is skipped in the replay.
	e.Do(e.as(c.member), `mutation($id: ID!) { deletePost(id: $id) }`, vars{"id": first[2]}).NoErrors(t)

	const more = 12
	writers := []subgraphtest.Caller{e.as(c.owner), e.as(c.admin), e.as(c.member)}
	start := make(chan struct{})
	errs := make(chan error, more)
	var wg sync.WaitGroup
	for w, caller := range writers {
		wg.Go(func() {
			<-start
			for i := w; i < more; i += len(writers) {
				_, err := send(e, caller, `mutation($in: CreatePostInput!) { createPost(input: $in) { id } }`,
					vars{"in": vars{"channelId": c.channel, "title": fmt.Sprint("more ", i), "body": "b"}})
				errs <- err
			}
		})
	}
	ws := e.DialWS(e.as(c.stranger))
	id := ws.Subscribe(postAdded, vars{"c": c.channel, "after": first[0]})
	close(start)

	var got []string
	for len(got) < 1+more {
		got = append(got, ws.Event(id, "postAdded")["id"].(string))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	want := e.dbOrder(`SELECT id::text FROM posts WHERE channel_id = $1 AND channel_seq > 1 AND deleted_at IS NULL ORDER BY channel_seq`, c.channel)
	require.Equal(t, want, got, "every post after the first once, in publishing order")
	require.Equal(t, first[1], got[0])
	ws.Quiet(200 * time.Millisecond)
}

func TestPostAddedChecksTheReader(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("secret-posts", "PRIVATE")
	invitee := newPerson()
	e.Do(e.as(c.owner), inviteMutation, vars{"c": c.channel, "u": invitee.ID}).NoErrors(t)
	draft := e.draft(c.member, c.channel, "Draft")
	published := e.createPost(c.member, c.channel, "Published")
	pub := e.createChannel(c.owner, "public-posts", "PUBLIC")
	foreign := e.createPost(c.owner, pub, "Foreign")

	ws := e.DialWS(e.as(c.stranger))
	sub := ws.Subscribe(postAdded, vars{"c": c.channel})
	require.Equal(t, "NOT_FOUND", ws.OpError(sub).Extensions["code"], "to a stranger it does not exist")
	ws.Expect(sub, "complete")
	ws = e.DialWS(e.as(invitee))
	sub = ws.Subscribe(postAdded, vars{"c": c.channel})
	require.Equal(t, "FORBIDDEN", ws.OpError(sub).Extensions["code"], "invited, not yet a reader")
	ws.Expect(sub, "complete")

	ws = e.DialWS(e.as(c.member))
	for _, after := range []string{draft, foreign, newPerson().ID, "garbage"} {
		sub := ws.Subscribe(postAdded, vars{"c": c.channel, "after": after})
		require.Equal(t, "BAD_USER_INPUT", ws.OpError(sub).Extensions["code"], "after=%s", after)
		ws.Expect(sub, "complete")
	}
	sub = ws.Subscribe(postAdded, vars{"c": c.channel, "after": published})
	next := e.createPost(c.admin, c.channel, "Next")
	require.Equal(t, next, ws.Event(sub, "postAdded")["id"])
}
