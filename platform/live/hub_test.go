package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx/redistest"
)

// event is what the tests publish and store.
type event struct {
	ID     uuid.UUID `json:"id"`
	Seq    int64     `json:"seq"`
	Hidden bool      `json:"hidden,omitempty"`
}

func decodeEvent(payload string) (event, error) {
	var e event
	err := json.Unmarshal([]byte(payload), &e)
	return e, err
}

type env struct {
	redis *redistest.Server
	rdb   *redis.Client
	hub   *Hub[event]
	log   *slog.Logger
	stop  func() // ends Run and waits for it
}

// setup runs a Hub on a private redis-server (its command counters are the
// test's alone).
func setup(t *testing.T) *env {
	t.Helper()
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() }) // the server goes with the test
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	e := &env{redis: rs, rdb: rdb, hub: NewHub(rdb, log, decodeEvent), log: log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.hub.Run(ctx) }()
	e.stop = func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return")
		}
		e.stop = func() {}
	}
	t.Cleanup(func() { e.stop() })
	return e
}

// channel returns a channel name unique to the test.
func channel(t *testing.T) string { return "test:" + t.Name() + ":" + uuid.NewString() }

func (e *env) subscribe(t *testing.T, ch string) *Subscription[event] {
	t.Helper()
	sub, err := e.hub.Subscribe(t.Context(), ch)
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return sub
}

func (e *env) publish(t *testing.T, ch string, ev event) {
	t.Helper()
	require.NoError(t, Publish(t.Context(), e.rdb, ch, ev))
}

// numSub is how many connections Redis has subscribed to ch.
func (e *env) numSub(t *testing.T, ch string) int64 {
	t.Helper()
	n, err := e.rdb.PubSubNumSub(t.Context(), ch).Result()
	require.NoError(t, err)
	return n[ch]
}

// calls is how many times Redis ran cmd (INFO commandstats).
func (e *env) calls(t *testing.T, cmd string) int {
	t.Helper()
	info, err := e.rdb.Info(t.Context(), "commandstats").Result()
	require.NoError(t, err)
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		require.NoError(t, err)
		return n
	}
	return 0
}

func receive(t *testing.T, sub *Subscription[event]) *event {
	t.Helper()
	select {
	case m := <-sub.messages:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func TestSubscribedThenPublishedArrives(t *testing.T) {
	e := setup(t)
	ch, other := channel(t), channel(t)
	sub := e.subscribe(t, ch)
	otherSub := e.subscribe(t, other)
	// Subscribe returned: Redis confirmed, so this publish reaches it.
	want := event{ID: uuid.New(), Seq: 1}
	e.publish(t, ch, want)
	require.Equal(t, want, *receive(t, sub))
	require.Empty(t, otherSub.messages)
}

func TestSubscriptionsOfOneChannelShareOneSubscribe(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	subs := []*Subscription[event]{e.subscribe(t, ch), e.subscribe(t, ch), e.subscribe(t, ch)}
	require.Equal(t, 1, e.calls(t, "subscribe"))
	require.EqualValues(t, 1, e.numSub(t, ch))

	e.publish(t, ch, event{ID: uuid.New(), Seq: 1})
	first := receive(t, subs[0])
	for _, sub := range subs[1:] {
		require.Same(t, first, receive(t, sub), "decoded once, shared")
	}

	subs[0].Close()
	subs[1].Close()
	subs[1].Close() // twice is harmless
	require.Zero(t, e.calls(t, "unsubscribe"), "a subscriber is left")
	e.publish(t, ch, event{ID: uuid.New(), Seq: 2})
	require.EqualValues(t, 2, receive(t, subs[2]).Seq)

	subs[2].Close()
	require.Eventually(t, func() bool { return e.numSub(t, ch) == 0 }, 5*time.Second, 5*time.Millisecond,
		"the last Close unsubscribes")
	require.Equal(t, 1, e.calls(t, "unsubscribe"))

	// The channel can be subscribed again.
	again := e.subscribe(t, ch)
	require.Equal(t, 2, e.calls(t, "subscribe"))
	e.publish(t, ch, event{ID: uuid.New(), Seq: 3})
	require.EqualValues(t, 3, receive(t, again).Seq)
}

func TestSlowSubscriberIsResyncedInsteadOfBlockingTheHub(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	slow, fast := e.subscribe(t, ch), e.subscribe(t, ch)
	for i := range subscriptionBuffer + 5 {
		e.publish(t, ch, event{ID: uuid.New(), Seq: int64(i + 1)})
		require.EqualValues(t, i+1, receive(t, fast).Seq, "the hub went on past the full subscription")
	}
	require.Len(t, slow.messages, subscriptionBuffer)
	select {
	case <-slow.resync:
	default:
		t.Fatal("the slow subscription was not asked to catch up")
	}
	require.Empty(t, fast.resync)
}

func TestReconnectAsksSubscriptionsToCatchUp(t *testing.T) {
	e := setup(t)
	ch := channel(t)
	sub := e.subscribe(t, ch)
	e.redis.Stop()
	e.redis.Restart()
	select {
	case <-sub.resync:
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the reconnect")
	}
	// The resync comes with the new confirmation: the channel is live again.
	e.publish(t, ch, event{ID: uuid.New(), Seq: 1})
	require.EqualValues(t, 1, receive(t, sub).Seq)
}

func TestSubscribeFailsOnceTheHubStopped(t *testing.T) {
	e := setup(t)
	e.stop()
	_, err := e.hub.Subscribe(t.Context(), channel(t))
	require.Error(t, err)
}
