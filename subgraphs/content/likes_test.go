package content_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
)

const (
	likePost      = `mutation($id: ID!) { likePost(id: $id) { id likeCount viewerHasLiked } }`
	unlikePost    = `mutation($id: ID!) { unlikePost(id: $id) { id likeCount viewerHasLiked } }`
	likeComment   = `mutation($id: ID!) { likeComment(id: $id) { id likeCount viewerHasLiked } }`
	unlikeComment = `mutation($id: ID!) { unlikeComment(id: $id) { id likeCount viewerHasLiked } }`
)

// liked runs a like mutation and returns likeCount and viewerHasLiked.
func (e *env) liked(p person, mutation, id string) (float64, bool) {
	e.T.Helper()
	r := e.Do(e.as(p), mutation, vars{"id": id}).NoErrors(e.T)
	for _, v := range r.Data {
		m := v.(map[string]any)
		return m["likeCount"].(float64), m["viewerHasLiked"].(bool)
	}
	e.T.Fatal("no data")
	return 0, false
}

func TestLikePostCountsEachUserOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("likes", "PUBLIC")
	id := e.createPost(c.owner, c.channel, "Likeable")
	read := `query($id: ID!) { post(id: $id) { likeCount viewerHasLiked } }`

	n, mine := e.liked(c.member, likePost, id)
	require.Equal(t, 1.0, n)
	require.True(t, mine)
	n, mine = e.liked(c.member, likePost, id)
	require.Equal(t, 1.0, n, "liking twice counts once")
	require.True(t, mine)
	r := e.Do(e.as(c.admin), read, vars{"id": id}).NoErrors(t)
	require.Equal(t, map[string]any{"likeCount": 1.0, "viewerHasLiked": false}, r.Data["post"], "someone else's like")
	r = e.Do(e.Anonymous(), read, vars{"id": id}).NoErrors(t)
	require.Equal(t, map[string]any{"likeCount": 1.0, "viewerHasLiked": false}, r.Data["post"])
	n, _ = e.liked(c.stranger, likePost, id) // a public channel's posts are anyone's to like
	require.Equal(t, 2.0, n)

	n, mine = e.liked(c.member, unlikePost, id)
	require.Equal(t, 1.0, n)
	require.False(t, mine)
	n, _ = e.liked(c.member, unlikePost, id)
	require.Equal(t, 1.0, n, "unliking twice counts once")
	n, _ = e.liked(c.stranger, unlikePost, id)
	require.Equal(t, 0.0, n)
	require.Equal(t, 0, e.count(`SELECT count(*) FROM post_likes`))

	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), likePost, vars{"id": id}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.member), likePost, vars{"id": c.channel}).Code(t))
	priv := e.createChannel(c.owner, "private-likes", "PRIVATE")
	secret := e.createPost(c.owner, priv, "Secret")
	require.Equal(t, "NOT_FOUND", e.Do(e.as(c.stranger), likePost, vars{"id": secret}).Code(t))

	// The viewer's likes in a list, read at once.
	other := e.createPost(c.owner, c.channel, "Second")
	e.liked(c.member, likePost, other)
	r = e.Do(e.as(c.member), `query($id: ID!) { channel(id: $id) { posts { edges { node { title likeCount viewerHasLiked } } } } }`, vars{"id": c.channel}).NoErrors(t)
	require.Equal(t, []any{true, false}, values(field(r.Data, "channel", "posts"), "viewerHasLiked"))
	require.Equal(t, []any{1.0, 0.0}, values(field(r.Data, "channel", "posts"), "likeCount"))
}

// call is one request of a concurrent burst.
type call struct {
	caller subgraphtest.Caller
	query  string
}

// calls makes one call of query per caller.
func calls(query string, callers ...subgraphtest.Caller) []call {
	out := make([]call, len(callers))
	for i, c := range callers {
		out[i] = call{c, query}
	}
	return out
}

// concurrently runs every call on id at once and fails the test on any error.
func (e *env) concurrently(t *testing.T, id string, burst []call) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, len(burst))
	var wg sync.WaitGroup
	for _, c := range burst {
		wg.Go(func() {
			<-start
			_, err := send(e, c.caller, c.query, vars{"id": id})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestPostLikesAreExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("like-rush", "PUBLIC")
	id := e.createPost(c.owner, c.channel, "Viral")
	var fans []person
	var callers []subgraphtest.Caller
	for range 50 {
		p := newPerson()
		fans = append(fans, p)
		callers = append(callers, e.as(p))
	}
	e.concurrently(t, id, calls(likePost, callers...))
	require.Equal(t, 50.0, field(e.readPost(c.owner, id), "likeCount"))
	require.Equal(t, 50, e.count(`SELECT count(*) FROM post_likes WHERE post_id = $1`, id))

	// The same user ten times at once: one like.
	same := make([]subgraphtest.Caller, 10)
	for i := range same {
		same[i] = e.as(c.member)
	}
	e.concurrently(t, id, calls(likePost, same...))
	require.Equal(t, 51.0, field(e.readPost(c.owner, id), "likeCount"))

	// Half unlike while as many others like, and one unlikes five times.
	var unlikes, likes []subgraphtest.Caller
	for _, p := range fans[:15] {
		unlikes = append(unlikes, e.as(p))
	}
	for range 15 {
		likes = append(likes, e.as(newPerson()))
	}
	for range 4 {
		unlikes = append(unlikes, e.as(c.member))
	}
	e.concurrently(t, id, append(calls(unlikePost, unlikes...), calls(likePost, likes...)...))
	require.Equal(t, 50.0, field(e.readPost(c.owner, id), "likeCount"))
	require.Equal(t, 50, e.count(`SELECT like_count FROM posts WHERE id = $1`, id))
	require.Equal(t, 50, e.count(`SELECT count(*) FROM post_likes WHERE post_id = $1`, id))
}

func TestLikeComment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.cast("comment-likes", "PUBLIC")
	postID := e.createPost(c.owner, c.channel, "Discuss")
	top := e.comment(c.member, postID, "", "a good point")
	reply := e.comment(c.admin, postID, top, "agreed")

	n, mine := e.liked(c.owner, likeComment, top)
	require.Equal(t, 1.0, n)
	require.True(t, mine)
	n, _ = e.liked(c.owner, likeComment, top)
	require.Equal(t, 1.0, n, "liking twice counts once")
	n, _ = e.liked(c.admin, likeComment, top)
	require.Equal(t, 2.0, n)
	e.liked(c.owner, likeComment, reply)

	r := e.Do(e.as(c.owner), `query($p: ID!) { post(id: $p) { likeCount comments { edges { node { likeCount viewerHasLiked
	  replies { edges { node { likeCount viewerHasLiked } } } } } } } }`, vars{"p": postID}).NoErrors(t)
	tops := nodes(field(r.Data, "post", "comments"))
	require.Equal(t, 2.0, tops[0]["likeCount"])
	require.Equal(t, true, tops[0]["viewerHasLiked"])
	require.Equal(t, []any{true}, values(tops[0]["replies"], "viewerHasLiked"))
	require.Equal(t, 0.0, field(r.Data, "post", "likeCount"), "comment likes are not the post's")
	r = e.Do(e.as(c.member), `query($id: ID!) { comment(id: $id) { likeCount viewerHasLiked } }`, vars{"id": top}).NoErrors(t)
	require.Equal(t, map[string]any{"likeCount": 2.0, "viewerHasLiked": false}, r.Data["comment"])

	n, mine = e.liked(c.owner, unlikeComment, top)
	require.Equal(t, 1.0, n)
	require.False(t, mine)
	n, _ = e.liked(c.owner, unlikeComment, top)
	require.Equal(t, 1.0, n)

	// Concurrent likes of a comment are exact too.
	var callers []subgraphtest.Caller
	for range 20 {
		callers = append(callers, e.as(newPerson()))
	}
	for range 5 {
		callers = append(callers, e.as(c.admin)) // already likes it
	}
	e.concurrently(t, top, calls(likeComment, callers...))
	r = e.Do(e.as(c.member), `query($id: ID!) { comment(id: $id) { likeCount } }`, vars{"id": top}).NoErrors(t)
	require.Equal(t, 21.0, field(r.Data, "comment", "likeCount"))
	require.Equal(t, 21, e.count(`SELECT count(*) FROM comment_likes WHERE comment_id = $1`, top))

	// Deleted comments take no likes.
	e.Do(e.as(c.admin), `mutation($id: ID!) { deleteComment(id: $id) }`, vars{"id": reply}).NoErrors(t)
	require.Equal(t, "CONFLICT", e.Do(e.as(c.member), likeComment, vars{"id": reply}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), likeComment, vars{"id": top}).Code(t))
}
