package content_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Posts and channels are cached by id; every change shows at once, and a
// Redis outage costs speed, never answers.
func TestCachedRowsFollowEveryChange(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner, fan := newPerson(), newPerson()
	ch := e.createChannel(owner, "cache-watch", "PUBLIC")
	r := e.Do(e.as(owner), `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Cached", body: "Body"}) { id } }`, map[string]any{"c": ch}).NoErrors(t)
	post := r.Data["createPost"].(map[string]any)["id"].(string)
	read := func() map[string]any {
		t.Helper()
		r := e.Do(e.as(fan), `query($p: ID!) { post(id: $p) { title likeCount commentCount channel { memberCount postCount name } } }`, map[string]any{"p": post}).NoErrors(t)
		return r.Data["post"].(map[string]any)
	}
	first := read()
	require.EqualValues(t, 1, first["channel"].(map[string]any)["memberCount"])

	keys, err := e.Redis.Keys(t.Context(), "content:post:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the post is cached after a read")

	// Each change is seen by the next read.
	e.Do(e.as(fan), `mutation($c: ID!) { joinChannel(id: $c) { status } }`, map[string]any{"c": ch}).NoErrors(t)
	e.Do(e.as(fan), `mutation($p: ID!) { likePost(id: $p) { likeCount } }`, map[string]any{"p": post}).NoErrors(t)
	e.Do(e.as(fan), `mutation($p: ID!) { addComment(postId: $p, body: "hi") { id } }`, map[string]any{"p": post}).NoErrors(t)
	e.Do(e.as(owner), `mutation($p: ID!) { updatePost(id: $p, input: {title: "Renamed"}) { title } }`, map[string]any{"p": post}).NoErrors(t)
	e.Do(e.as(owner), `mutation($c: ID!) { updateChannel(id: $c, input: {name: "New name"}) { name } }`, map[string]any{"c": ch}).NoErrors(t)
	got := read()
	require.Equal(t, "Renamed", got["title"])
	require.EqualValues(t, 1, got["likeCount"])
	require.EqualValues(t, 1, got["commentCount"])
	require.Equal(t, map[string]any{"memberCount": float64(2), "postCount": float64(1), "name": "New name"}, got["channel"])

	// Deleted is gone at once, not after a TTL.
	e.Do(e.as(owner), `mutation($p: ID!) { deletePost(id: $p) }`, map[string]any{"p": post}).NoErrors(t)
	r = e.Do(e.as(fan), `query($p: ID!) { post(id: $p) { id } }`, map[string]any{"p": post}).NoErrors(t)
	require.Nil(t, r.Data["post"])

	// Without Redis the answers are the database's.
	e.RedisServer.Stop()
	r = e.Do(e.as(fan), `query($c: ID!) { channel(id: $c) { name postCount memberCount } }`, map[string]any{"c": ch}).NoErrors(t)
	require.Equal(t, map[string]any{"name": "New name", "postCount": float64(0), "memberCount": float64(2)}, r.Data["channel"])
}
