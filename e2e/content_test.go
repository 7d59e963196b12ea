package e2e_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/worker/mailcatch"
)

// TestPlatformContentStory drives the content subgraph through the router as
// its users would: a channel, a member, a post and a conversation, with live
// posts and comments from the content subgraph and a live reply notification
// from the notifications subgraph on one WebSocket, and the joins to users.
func TestPlatformContentStory(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.startSubgraphs()
	p.startRouter()
	p.startWorker()
	alice, bob := p.register("calice"), p.register("cbob")

	ch := p.ok(alice.Token, `mutation { createChannel(input: {slug: "story-time", name: "Story time", description: "Tales told live"}) { id slug owner { username } memberCount viewerRole } }`, nil)["createChannel"].(map[string]any)
	require.Equal(t, map[string]any{"username": "calice"}, ch["owner"])
	require.EqualValues(t, 1, ch["memberCount"])
	require.Equal(t, "OWNER", ch["viewerRole"])
	channelID := ch["id"].(string)

	joined := p.ok(bob.Token, `mutation($id: ID!) { joinChannel(id: $id) { status role channel { memberCount } user { username } } }`, map[string]any{"id": channelID})
	require.Equal(t, map[string]any{"status": "MEMBER", "role": "MEMBER", "channel": map[string]any{"memberCount": float64(2)}, "user": map[string]any{"username": "cbob"}}, joined["joinChannel"])

	// Bob follows the channel's posts and, on the same connection, his own
	// notifications: two subgraphs' subscriptions through one router socket.
	ws, notices := p.subscribeAfterWelcome(bob)
	posts := ws.Subscribe(`subscription($c: ID!) { postAdded(channelId: $c) { id title author { username } channel { slug } } }`, map[string]any{"c": channelID})
	p.waitListening("content:channel:" + channelID + ":posts")

	post := p.ok(alice.Token, `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Once upon a time", body: "There was a *graph*."}) { id } }`, map[string]any{"c": channelID})["createPost"].(map[string]any)
	postID := post["id"].(string)
	live := ws.Event(posts, "postAdded")
	require.Equal(t, map[string]any{"id": postID, "title": "Once upon a time", "author": map[string]any{"username": "calice"}, "channel": map[string]any{"slug": "story-time"}}, live)

	comments := ws.Subscribe(`subscription($p: ID!) { commentAdded(postId: $p) { id body depth author { username } } }`, map[string]any{"p": postID})
	p.waitListening("content:post:" + postID + ":comments")

	first := p.ok(bob.Token, `mutation($p: ID!) { addComment(postId: $p, body: "And then?") { id } }`, map[string]any{"p": postID})["addComment"].(map[string]any)
	require.Equal(t, map[string]any{"id": first["id"], "body": "And then?", "depth": float64(0), "author": map[string]any{"username": "cbob"}}, ws.Event(comments, "commentAdded"))

	// The post's author hears of the comment in-app and by e-mail.
	toAlice := p.waitNotification(alice.Token, "COMMENT_REPLY")
	require.Equal(t, "Once upon a time", toAlice["title"])
	require.Equal(t, "And then?", toAlice["body"])
	mail := p.waitMail(alice.Email, func(m mailcatch.Message) bool { return strings.Contains(m.Subject, "Once upon a time") })
	require.Contains(t, mail.Text, "And then?")
	require.Contains(t, mail.Text, "/posts/"+postID+"#comment-"+first["id"].(string))

	// Alice answers; Bob hears of the reply as a live notification.
	p.ok(alice.Token, `mutation($p: ID!, $c: ID!) { addComment(postId: $p, parentId: $c, body: "It federated.") { id } }`, map[string]any{"p": postID, "c": first["id"]})
	// The comment (content) and the notification (notifications, through
	// the worker) arrive in either order.
	got := ws.Events(map[string]string{comments: "commentAdded", notices: "notificationAdded"})
	reply := got[comments]
	require.Equal(t, "It federated.", reply["body"])
	require.EqualValues(t, 1, reply["depth"])
	n := got[notices]
	require.Equal(t, "COMMENT_REPLY", n["kind"])
	require.Equal(t, "Once upon a time", n["title"])
	require.Equal(t, "It federated.", n["body"])

	d := p.ok(bob.Token, `query($p: ID!) { post(id: $p) { commentCount thread { edges { node { body depth author { username } } } } } me { channels { edges { node { slug viewerRole } } } } }`, map[string]any{"p": postID})
	require.EqualValues(t, 2, dig(d, "post", "commentCount"))
	require.Equal(t, []any{
		map[string]any{"node": map[string]any{"body": "And then?", "depth": float64(0), "author": map[string]any{"username": "cbob"}}},
		map[string]any{"node": map[string]any{"body": "It federated.", "depth": float64(1), "author": map[string]any{"username": "calice"}}},
	}, dig(d, "post", "thread", "edges"))
	require.Equal(t, []any{map[string]any{"node": map[string]any{"slug": "story-time", "viewerRole": "MEMBER"}}}, dig(d, "me", "channels", "edges"))

	// Bob asks to hear of new posts: the content service fans the next one
	// out from its own queue, and the worker delivers it live.
	p.ok(bob.Token, `mutation($c: ID!) { setChannelNotifications(channelId: $c, notifyOnPost: true) { notifyOnPost } }`, map[string]any{"c": channelID})
	second := p.ok(alice.Token, `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Chapter two", body: "More."}) { id } }`, map[string]any{"c": channelID})["createPost"].(map[string]any)
	got = ws.Events(map[string]string{posts: "postAdded", notices: "notificationAdded"})
	require.Equal(t, second["id"], got[posts]["id"])
	n = got[notices]
	require.Equal(t, "CHANNEL_NEW_POST", n["kind"])
	require.Equal(t, "New in Story time: Chapter two", n["title"])
}
