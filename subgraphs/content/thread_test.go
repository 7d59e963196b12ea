package content_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
)

// A thread of 1,000 comments, 50 chains 20 levels deep, read page by page
// in reading order: every page costs the same few statements, whatever the
// depth or the size of the thread.
func TestLargeDeepThreadReadsInBoundedStatements(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := newPerson()
	ch := e.createChannel(owner, "deep-thread", "PUBLIC")
	post := e.createPost(owner, ch, "A long talk")
	postID := uuid.MustParse(post)

	// Written through the domain: 1,000 mutations over HTTP would only
	// slow the test; the read below is what it is about.
	p := identity.Principal{UserID: owner.ID}
	ctx := context.Background()
	var want []string
	paths := map[string]string{}
	for chain := range 50 {
		var parent *uuid.UUID
		path := ""
		for depth := range 20 {
			c, err := e.app.Domain.AddComment(ctx, p, postID, parent, fmt.Sprintf("chain %d depth %d", chain, depth))
			require.NoError(t, err)
			want = append(want, c.ID.String())
			path += fmt.Sprintf("%03d.%02d/", chain, depth)
			paths[c.ID.String()] = path
			parent = &c.ID
		}
	}
	// Reading order: each comment before its replies, chains oldest first.
	sort.SliceStable(want, func(i, j int) bool { return paths[want[i]] < paths[want[j]] })

	const page = `query($p: ID!, $after: String) { post(id: $p) { thread(maxDepth: 20, first: 100, after: $after) {
		edges { node { id depth replyCount likeCount viewerHasLiked author { id } } }
		pageInfo { hasNextPage endCursor } } } }`
	var got []string
	var perPage []int64
	var after any
	for {
		e.statements.Reset()
		r := e.Do(e.as(owner), page, map[string]any{"p": post, "after": after}).NoErrors(t)
		perPage = append(perPage, e.statements.Count())
		thread := field(r.Data, "post", "thread")
		for _, n := range nodes(thread) {
			got = append(got, n["id"].(string))
		}
		if field(thread, "pageInfo", "hasNextPage") != true {
			break
		}
		after = field(thread, "pageInfo", "endCursor")
	}
	require.Equal(t, want, got, "all 1,000 comments once, in reading order")
	require.Len(t, perPage, 10)
	// The post and its channel may come from the cache or the database (a
	// read caches them): a page costs at most the thread's range scan, the
	// viewer's likes, their standing (twice when cold) and those two rows.
	for i, n := range perPage {
		require.LessOrEqual(t, n, int64(8), "page %d took %d statements (all pages: %v)", i, n, perPage)
	}

	// maxDepth cuts the thread: the top two levels of every chain.
	r := e.Do(e.as(owner), `query($p: ID!) { post(id: $p) { thread(maxDepth: 1, first: 100) { edges { node { depth } } } } }`,
		map[string]any{"p": post}).NoErrors(t)
	require.Len(t, nodes(field(r.Data, "post", "thread")), 100)
}
