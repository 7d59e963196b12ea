package content_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/subgraphs/content"
)

// env is one content service on its own database and Redis, served over a
// real socket, with a tracer counting the domain's SQL statements.
type env struct {
	*subgraphtest.Env
	app        *content.App
	statements *pgtest.Counter
}

func setup(t *testing.T, opts ...func(*content.Config)) *env {
	t.Helper()
	base := subgraphtest.New(t, "content", 2)
	cfg := content.DefaultConfig()
	cfg.Subgraph = base.Config
	statements := &pgtest.Counter{}
	cfg.QueryTracer = statements
	for _, o := range opts {
		o(&cfg)
	}
	app, err := content.New(context.Background(), cfg, base.Log)
	require.NoError(t, err)
	t.Cleanup(app.Close)
	base.Serve(app.Serve)
	return &env{Env: base, app: app, statements: statements}
}

// person is a test user: an id and the roles the router would assert.
type person struct {
	ID    string
	Roles []string
}

func newPerson(roles ...string) person { return person{ID: uuid.NewString(), Roles: roles} }

func (e *env) as(p person) subgraphtest.Caller {
	return e.As(identity.Principal{UserID: p.ID, Roles: p.Roles})
}

// createChannel creates a channel as p and returns its id.
func (e *env) createChannel(p person, slug, visibility string) string {
	e.T.Helper()
	r := e.Do(e.as(p), `mutation($in: CreateChannelInput!) { createChannel(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"slug": slug, "name": "Channel " + slug, "visibility": visibility}}).NoErrors(e.T)
	return r.Data["createChannel"].(map[string]any)["id"].(string)
}

func TestSmoke(t *testing.T) {
	e := setup(t)
	owner, member := newPerson(), newPerson()
	ch := e.createChannel(owner, "smoke-test", "PUBLIC")
	e.Do(e.as(member), `mutation($id: ID!) { joinChannel(id: $id) { status role } }`, map[string]any{"id": ch}).NoErrors(t)
	r := e.Do(e.as(member), `mutation($c: ID!) { createPost(input: {channelId: $c, title: "Hello", body: "World"}) { id status channel { memberCount viewerRole } } }`, map[string]any{"c": ch}).NoErrors(t)
	post := r.Data["createPost"].(map[string]any)["id"].(string)
	c1 := e.Do(e.as(owner), `mutation($p: ID!) { addComment(postId: $p, body: "first") { id depth } }`, map[string]any{"p": post})
	t.Logf("%+v", c1)
	c1.NoErrors(t)
	id1 := c1.Data["addComment"].(map[string]any)["id"].(string)
	e.Do(e.as(member), `mutation($p: ID!, $c: ID) { addComment(postId: $p, parentId: $c, body: "reply") { id depth } }`, map[string]any{"p": post, "c": id1}).NoErrors(t)
	r = e.Do(e.as(member), `query($p: ID!) { post(id: $p) { commentCount viewerHasLiked thread { edges { node { body depth replyCount author { id } } } } comments { edges { node { body replies { edges { node { body } } } } } } } }`, map[string]any{"p": post}).NoErrors(t)
	t.Logf("%+v", r.Data)
	r = e.Do(e.as(member), `{ feed { edges { node { title } } } channels { edges { node { slug memberCount postCount } } } }`, nil).NoErrors(t)
	t.Logf("%+v", r.Data)
}
