package notifications_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/pg/pgtest"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/notifications/notify"
)

// env is one notifications service on its own database and Redis, with a
// tracer counting the domain's SQL statements.
type env struct {
	*subgraphtest.Env
	app        *notifications.App
	cfg        notifications.Config
	statements *pgtest.Counter
}

func setup(t *testing.T) *env {
	t.Helper()
	base := subgraphtest.New(t, "notifications", 3)
	cfg := notifications.DefaultConfig()
	cfg.Subgraph = base.Config
	statements := &pgtest.Counter{}
	cfg.QueryTracer = statements
	e := &env{Env: base, cfg: cfg, statements: statements}
	e.app = e.start(base)
	return e
}

// start runs one more replica of the service on the same database and Redis.
func (e *env) start(base *subgraphtest.Env) *notifications.App {
	e.T.Helper()
	app, err := notifications.New(context.Background(), e.cfg, e.Log)
	require.NoError(e.T, err)
	e.T.Cleanup(app.Close)
	base.Serve(app.Serve)
	return app
}

// replica starts a second service on the same database and Redis and returns
// its URL.
func (e *env) replica() (*notifications.App, string) {
	e.T.Helper()
	other := *e.Env
	app := e.start(&other)
	return app, other.URL
}

// deliver stores a notification for user the way the worker does.
func (e *env) deliver(user uuid.UUID, kind, title string) notify.Delivery {
	e.T.Helper()
	d, err := e.app.Domain.Deliver(context.Background(), event(user, kind, title))
	require.NoError(e.T, err)
	return d
}

func event(user uuid.UUID, kind, title string) tasks.NotificationDeliver {
	return tasks.NotificationDeliver{
		EventID: uuid.NewString(), RecipientID: user.String(), Kind: kind, Title: title,
		Body: "body of " + title, Link: "/somewhere", Data: map[string]any{"n": 1},
		CreatedAt: time.Now().UTC(),
	}
}

const notificationAdded = `subscription($after: ID) { notificationAdded(after: $after) { id kind title recipient { id } } }`

// added reads the next notificationAdded event of operation id.
func added(t *testing.T, ws *subgraphtest.WS, id string) map[string]any {
	t.Helper()
	r := ws.Next(id).NoErrors(t)
	return r.Data["notificationAdded"].(map[string]any)
}
