package notifications_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
)

func TestSubscriptionRequiresSignIn(t *testing.T) {
	e := setup(t)
	ws := subgraphtest.DialWS(t, e.URL, e.Anonymous())
	id := ws.Subscribe(notificationAdded, nil)
	require.Equal(t, "UNAUTHENTICATED", ws.OpError(id).Extensions["code"])
}

func TestSubscriptionDeliversOwnNotificationsLive(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	e.deliver(me, tasks.KindWelcome, "before the subscription")
	ws := subgraphtest.DialWS(t, e.URL, e.User(me.String()))
	id := ws.Subscribe(notificationAdded, nil)
	// The subscription is live once the resolver returned; a notification
	// delivered after a round trip on the same connection must arrive.
	waitSubscribed(t, e, me)

	e.deliver(other, tasks.KindWelcome, "someone else's")
	e.deliver(me, tasks.KindOrderPlaced, "live one")
	got := added(t, ws, id)
	require.Equal(t, "live one", got["title"])
	require.Equal(t, me.String(), got["recipient"].(map[string]any)["id"])
	ws.Quiet(200 * time.Millisecond)
}

// waitSubscribed waits until user's channel has a subscriber on Redis: the
// subscription is then in effect (the hub confirmed it before the resolver
// returned, which is what the client cannot observe directly).
func waitSubscribed(t *testing.T, e *env, user uuid.UUID) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := e.Redis.PubSubNumSub(t.Context(), "notifications:user:"+user.String()).Result()
		return err == nil && n["notifications:user:"+user.String()] > 0
	}, 5*time.Second, 5*time.Millisecond)
}

func TestSubscriptionReplaysAfterWithoutGapOrDuplicate(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	var ids []string
	for i := range 3 {
		ids = append(ids, e.deliver(me, tasks.KindOrderPlaced, fmt.Sprint("n", i)).Notification.ID.String())
	}

	// Keep delivering while the client (re)subscribes after the first one:
	// every notification after it must arrive exactly once, in order of
	// storage for the replayed part.
	const more = 30
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() {
		<-start
		for i := range more {
			e.deliver(me, tasks.KindOrderPlaced, fmt.Sprint("m", i))
		}
	})
	ws := subgraphtest.DialWS(t, e.URL, e.User(me.String()))
	id := ws.Subscribe(notificationAdded, map[string]any{"after": ids[0]})
	close(start)

	seen := map[string]int{}
	var order []string
	for len(seen) < 2+more {
		n := added(t, ws, id)
		seen[n["id"].(string)]++
		order = append(order, n["title"].(string))
	}
	wg.Wait()
	require.Equal(t, []string{"n1", "n2"}, order[:2], "the replay comes first, oldest first")
	for nid, count := range seen {
		require.Equal(t, 1, count, "notification %s arrived %d times", nid, count)
	}
	require.NotContains(t, seen, ids[0], "after is exclusive")
	ws.Quiet(200 * time.Millisecond)
}

func TestSubscriptionAfterMustBeOwn(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	theirs := e.deliver(other, tasks.KindWelcome, "theirs").Notification.ID.String()
	ws := subgraphtest.DialWS(t, e.URL, e.User(me.String()))
	for _, after := range []string{theirs, uuid.NewString(), "garbage"} {
		id := ws.Subscribe(notificationAdded, map[string]any{"after": after})
		require.Equal(t, "BAD_USER_INPUT", ws.OpError(id).Extensions["code"], "after=%s", after)
		ws.Expect(id, "complete")
	}
}

func TestAnyReplicaServesAnyUser(t *testing.T) {
	e := setup(t)
	_, url2 := e.replica()
	me := uuid.New()
	ws1 := subgraphtest.DialWS(t, e.URL, e.User(me.String()))
	ws2 := subgraphtest.DialWS(t, url2, e.User(me.String()))
	id1 := ws1.Subscribe(notificationAdded, nil)
	id2 := ws2.Subscribe(notificationAdded, nil)
	require.Eventually(t, func() bool {
		n, err := e.Redis.PubSubNumSub(t.Context(), "notifications:user:"+me.String()).Result()
		return err == nil && n["notifications:user:"+me.String()] == 2
	}, 5*time.Second, 5*time.Millisecond, "both replicas subscribed")

	// Published through Redis by whoever delivers (the worker); both
	// replicas' subscribers get it.
	n := e.deliver(me, tasks.KindWelcome, "everywhere").Notification.ID.String()
	require.Equal(t, n, added(t, ws1, id1)["id"])
	require.Equal(t, n, added(t, ws2, id2)["id"])
}

func TestManySubscribersEachGetOnlyTheirOwn(t *testing.T) {
	e := setup(t)
	const users, each = 20, 5
	type sub struct {
		user uuid.UUID
		ws   *subgraphtest.WS
		id   string
	}
	subs := make([]sub, users)
	for i := range subs {
		u := uuid.New()
		ws := subgraphtest.DialWS(t, e.URL, e.User(u.String()))
		subs[i] = sub{user: u, ws: ws, id: ws.Subscribe(notificationAdded, nil)}
	}
	for _, s := range subs {
		waitSubscribed(t, e, s.user)
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() {
			for i := range each {
				e.deliver(s.user, tasks.KindOrderPlaced, fmt.Sprintf("%s-%d", s.user, i))
			}
		})
	}
	for _, s := range subs {
		got := map[string]bool{}
		for range each {
			n := added(t, s.ws, s.id)
			require.Equal(t, s.user.String(), n["recipient"].(map[string]any)["id"])
			got[n["title"].(string)] = true
		}
		require.Len(t, got, each)
	}
	wg.Wait()
}

func TestSubscriptionCatchesUpAfterRedisRestart(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	ws := subgraphtest.DialWS(t, e.URL, e.User(me.String()))
	id := ws.Subscribe(notificationAdded, nil)
	waitSubscribed(t, e, me)
	e.deliver(me, tasks.KindWelcome, "before")
	require.Equal(t, "before", added(t, ws, id)["title"])

	// While Redis is down the notification is stored but cannot be
	// published (the worker would retry); the hub reconnects and the
	// subscription catches up from the database.
	e.RedisServer.Stop()
	_, err := e.app.Domain.Deliver(t.Context(), event(me, tasks.KindOrderPlaced, "during the outage"))
	require.Error(t, err)
	e.RedisServer.Restart()
	require.Equal(t, "during the outage", added(t, ws, id)["title"])

	waitSubscribed(t, e, me)
	e.deliver(me, tasks.KindOrderPlaced, "after")
	require.Equal(t, "after", added(t, ws, id)["title"])
}
