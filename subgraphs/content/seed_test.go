package content_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/demo"
	"supergraph/subgraphs/content"
)

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	require.NoError(t, content.Seed(ctx, e.app.Domain, log))
	require.NoError(t, content.Seed(ctx, e.app.Domain, log))

	var channels, posts, comments, depth int
	require.NoError(t, e.DB.QueryRow(ctx, `SELECT (SELECT count(*) FROM channels), (SELECT count(*) FROM posts),
		(SELECT count(*) FROM comments), (SELECT max(depth) FROM comments)`).Scan(&channels, &posts, &comments, &depth))
	require.Equal(t, 3, channels)
	require.Equal(t, 3, posts)
	require.Equal(t, 7, depth, "the deep thread goes eight levels down")

	// The demo accounts see it through the API: Alice's channel and its thread.
	alice := person{ID: demo.UserID(demo.Alice).String()}
	r := e.Do(e.as(alice), `{ channel(slug: "go-developers") { memberCount viewerRole posts { edges { node { likeCount viewerHasLiked thread(maxDepth: 20, first: 100) { edges { node { depth } } } } } } } }`, nil).NoErrors(t)
	ch := r.Data["channel"].(map[string]any)
	require.EqualValues(t, 3, ch["memberCount"])
	require.Equal(t, "OWNER", ch["viewerRole"])
	post := ch["posts"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	require.EqualValues(t, 3, post["likeCount"])
	require.Equal(t, true, post["viewerHasLiked"])
	thread := post["thread"].(map[string]any)["edges"].([]any)
	require.Len(t, thread, comments-3, "the other channels' comments are not in this thread") // 2 + 1 on the others
}
