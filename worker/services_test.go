package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/users"
)

// TestSignUpWelcomeReachesEveryChannel runs the users and notifications
// subgraphs and the worker together on one Redis, as deployed (without the
// router, which the end-to-end tests add): a sign-up's WELCOME event and
// recipient event go through the users outbox to the worker, which stores
// the notification, publishes it to the open subscription and mails it.
func TestSignUpWelcomeReachesEveryChannel(t *testing.T) {
	ub := subgraphtest.New(t, "users", 1)
	ucfg := users.DefaultConfig()
	ucfg.Subgraph = ub.Config
	ucfg.PasswordHashMemoryKiB = 8 * 1024
	uapp, err := users.New(context.Background(), ucfg, ub.Log)
	require.NoError(t, err)
	t.Cleanup(uapp.Close)
	ub.Serve(uapp.Serve)

	nb := subgraphtest.New(t, "notifications", 3)
	ncfg := notifications.DefaultConfig()
	ncfg.Subgraph = nb.Config
	ncfg.RedisURL = ub.RedisServer.URL(3)
	ncfg.QueueRedisURL = ub.RedisServer.URL(3)
	napp, err := notifications.New(context.Background(), ncfg, nb.Log)
	require.NoError(t, err)
	t.Cleanup(napp.Close)
	nb.Serve(napp.Serve)

	r := ub.Do(ub.Anonymous(), `mutation($in: RegisterInput!) { register(input: $in) { user { id } } }`, map[string]any{
		"in": map[string]any{"email": "ivy@example.com", "username": "ivy", "password": "correct horse battery", "displayName": "Ivy"},
	}).NoErrors(t)
	userID := r.Data["register"].(map[string]any)["user"].(map[string]any)["id"].(string)

	// Subscribe before the worker runs, so the WELCOME must arrive live.
	ws := nb.DialWS(nb.User(userID))
	op := ws.Subscribe(`subscription { notificationAdded { id kind title } }`, nil)
	require.Eventually(t, func() bool {
		n, err := ub.Redis.PubSubNumSub(context.Background(), "notifications:user:"+userID).Result()
		return err == nil && n["notifications:user:"+userID] == 1
	}, 5*time.Second, 5*time.Millisecond)

	e := setupOn(t, ncfg.DatabaseURL, ub.RedisServer)
	e.start()

	got := ws.Next(op).NoErrors(t).Data["notificationAdded"].(map[string]any)
	require.Equal(t, "WELCOME", got["kind"])
	require.Equal(t, "Welcome, Ivy!", got["title"])

	m := e.waitMail("ivy@example.com")
	require.Equal(t, "Welcome to Supergraph, Ivy!", m.Subject)
	require.Contains(t, m.Text, "@ivy")

	list := nb.Do(nb.User(userID), `query($id: ID!) { _entities(representations: [{__typename: "User", id: $id}]) { ... on User { notifications { edges { node { id kind } } } unreadNotificationCount } } }`,
		map[string]any{"id": userID}).NoErrors(t)
	u := list.Data["_entities"].([]any)[0].(map[string]any)
	require.EqualValues(t, 1, u["unreadNotificationCount"])
	require.Equal(t, got["id"], u["notifications"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"])
}
