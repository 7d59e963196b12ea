package content_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
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

// fanOutBatch is a setup option: each fan-out step reaches n members.
func fanOutBatch(n int) func(*content.Config) {
	return func(c *content.Config) { c.FanOutBatch = n }
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

// vars is a shorter map literal for query variables.
type vars = map[string]any

// createChannel creates a channel as p and returns its id.
func (e *env) createChannel(p person, slug, visibility string) string {
	e.T.Helper()
	return e.createChannelWith(p, vars{"slug": slug, "name": "Channel " + slug, "visibility": visibility})
}

// createChannelWith creates a channel from a full CreateChannelInput.
func (e *env) createChannelWith(p person, in map[string]any) string {
	e.T.Helper()
	r := e.Do(e.as(p), `mutation($in: CreateChannelInput!) { createChannel(input: $in) { id } }`, vars{"in": in}).NoErrors(e.T)
	return str(r.Data, "createChannel", "id")
}

// join joins (or asks to join) channel ch as p and returns the status.
func (e *env) join(p person, ch string) string {
	e.T.Helper()
	r := e.Do(e.as(p), `mutation($id: ID!) { joinChannel(id: $id) { status } }`, vars{"id": ch}).NoErrors(e.T)
	return str(r.Data, "joinChannel", "status")
}

// createPost writes a published post as p and returns its id.
func (e *env) createPost(p person, ch, title string) string {
	e.T.Helper()
	r := e.Do(e.as(p), `mutation($in: CreatePostInput!) { createPost(input: $in) { id status } }`,
		vars{"in": vars{"channelId": ch, "title": title, "body": "Body of " + title}}).NoErrors(e.T)
	require.Equal(e.T, "PUBLISHED", str(r.Data, "createPost", "status"))
	return str(r.Data, "createPost", "id")
}

// draft writes an unpublished post as p and returns its id.
func (e *env) draft(p person, ch, title string) string {
	e.T.Helper()
	r := e.Do(e.as(p), `mutation($in: CreatePostInput!) { createPost(input: $in) { id status } }`,
		vars{"in": vars{"channelId": ch, "title": title, "body": "Draft " + title, "publish": false}}).NoErrors(e.T)
	require.Equal(e.T, "DRAFT", str(r.Data, "createPost", "status"))
	return str(r.Data, "createPost", "id")
}

const addComment = `mutation($p: ID!, $parent: ID, $b: String!) { addComment(postId: $p, parentId: $parent, body: $b) { id depth } }`

// comment adds a comment (a reply when parent is not empty) as p and returns its id.
func (e *env) comment(p person, post, parent, body string) string {
	e.T.Helper()
	v := vars{"p": post, "b": body}
	if parent != "" {
		v["parent"] = parent
	}
	r := e.Do(e.as(p), addComment, v).NoErrors(e.T)
	return str(r.Data, "addComment", "id")
}

// field walks maps by keys; nil when a step is missing.
func field(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func str(m any, path ...string) string {
	s, _ := field(m, path...).(string)
	return s
}

// nodes returns the nodes of a connection.
func nodes(conn any) []map[string]any {
	var out []map[string]any
	edges, _ := field(conn, "edges").([]any)
	for _, e := range edges {
		out = append(out, field(e, "node").(map[string]any))
	}
	return out
}

// ids returns the node ids of a connection, in order.
func ids(conn any) []string {
	out := []string{}
	for _, n := range nodes(conn) {
		out = append(out, n["id"].(string))
	}
	return out
}

// values returns one field of every node of a connection, in order.
func values(conn any, key string) []any {
	out := []any{}
	for _, n := range nodes(conn) {
		out = append(out, n[key])
	}
	return out
}

// user reads content's User fields of id through _entities, as the router does.
func (e *env) user(c subgraphtest.Caller, id, fields string) map[string]any {
	e.T.Helper()
	q := `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id ` + fields + ` } } }`
	r := e.Do(c, q, vars{"r": []any{vars{"__typename": "User", "id": id}}}).NoErrors(e.T)
	return r.Data["_entities"].([]any)[0].(map[string]any)
}

// notice is a notification event in the outbox.
type notice struct {
	tasks.NotificationDeliver
	ID string
}

// notices returns the notification events of kind in the outbox, oldest first.
func (e *env) notices(kind string) []notice {
	e.T.Helper()
	rows, err := e.DB.Query(context.Background(),
		`SELECT id::text, payload::text FROM outbox WHERE task_type = $1 AND payload->>'kind' = $2 ORDER BY created_at, id`,
		tasks.TypeNotificationDeliver, kind)
	require.NoError(e.T, err)
	defer rows.Close()
	var out []notice
	for rows.Next() {
		var id, payload string
		require.NoError(e.T, rows.Scan(&id, &payload))
		var n notice
		require.NoError(e.T, json.Unmarshal([]byte(payload), &n.NotificationDeliver))
		require.NoError(e.T, n.Validate())
		n.ID = id
		out = append(out, n)
	}
	require.NoError(e.T, rows.Err())
	return out
}

// recipients lists the recipients of notices.
func recipients(ns []notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.RecipientID)
	}
	return out
}

// count runs a SELECT count(*) (or any single integer) query.
func (e *env) count(query string, args ...any) int {
	e.T.Helper()
	var n int
	require.NoError(e.T, e.DB.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// send is Do for goroutines: it reports failures (GraphQL errors included)
// as errors instead of stopping the test from a goroutine that is not the
// test's.
func send(e *env, c subgraphtest.Caller, query string, vars map[string]any) (subgraphtest.Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return subgraphtest.Response{}, err
	}
	req, err := http.NewRequest(http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return subgraphtest.Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(identity.Header, c.Assertion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return subgraphtest.Response{}, err
	}
	defer resp.Body.Close()
	var out subgraphtest.Response
	if resp.StatusCode >= 500 {
		return out, fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, err
	}
	if len(out.Errors) > 0 {
		return out, fmt.Errorf("errors: %+v", out.Errors)
	}
	return out, nil
}

// waitSubscribed waits until a Redis pub/sub channel has a subscriber: a
// subscription is then in effect (the hub confirmed it before the resolver
// returned, which the client cannot observe directly).
func waitSubscribed(t *testing.T, e *env, channel string) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := e.Redis.PubSubNumSub(t.Context(), channel).Result()
		return err == nil && n[channel] > 0
	}, 5*time.Second, 5*time.Millisecond, "no subscriber on %s", channel)
}
