// Package live delivers stored events to GraphQL subscriptions as they are
// written, over Redis pub/sub, with replay from the store and no gap or
// duplicate.
//
// Whoever stores an event PUBLISHes it (Publish) on its channel after the
// commit; every subgraph replica runs one Hub, a single pub/sub connection
// SUBSCRIBEd to the channels its subscribers need, and hands messages to
// their subscriptions. So any replica serves any subscriber, and a replica
// holds one Redis connection however many WebSockets it has. Stream merges
// a subscription with a catch-up from the store: pub/sub is at most once
// (a lost connection, a full buffer), the store is the truth.
//
// Pub/sub ignores the database number, so any client of the server reaches
// any channel: name channels by service and key ("notifications:user:<id>").
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publish sends payload, encoded as JSON, to channel's subscribers on every
// replica. Call it after the transaction that stored the event commits:
// a subscriber that sees the message may read the store at once.
func Publish(ctx context.Context, rdb *redis.Client, channel string, payload any) error {
	msg, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("publish on %s: %w", channel, err)
	}
	if err := rdb.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("publish on %s: %w", channel, err)
	}
	return nil
}

// Hub multiplexes one Redis pub/sub connection over many subscriptions.
// Each message is decoded into an E once, and that value is shared
// read-only by every subscription of its channel.
type Hub[E any] struct {
	ps     *redis.PubSub
	log    *slog.Logger
	decode func(payload string) (E, error)

	mu       sync.Mutex
	channels map[string]*channelState[E]
	closed   bool
}

// channelState tracks one Redis channel. Redis answers SUBSCRIBE and
// UNSUBSCRIBE in the order it receives them, so counting the confirmations
// still due tells when the latest SUBSCRIBE is in effect.
type channelState[E any] struct {
	subs map[*Subscription[E]]struct{}
	// subscribed: the last command sent was SUBSCRIBE.
	subscribed bool
	// pendingSubs and pendingUnsubs count commands not yet confirmed.
	pendingSubs, pendingUnsubs int
	// live: Redis confirmed the subscription on the current connection;
	// ready is closed then. wasLive: it had been live on an earlier
	// connection, so messages may have been lost while reconnecting.
	live, wasLive bool
	ready         chan struct{}
}

// NewHub returns a Hub on rdb's server; decode turns a message's payload
// into an E (the inverse of what the publisher passed to Publish). log
// should name the component ("component", "notifications-hub"). Run must be
// running for subscriptions to become live.
func NewHub[E any](rdb *redis.Client, log *slog.Logger, decode func(payload string) (E, error)) *Hub[E] {
	return &Hub[E]{
		ps:       rdb.Subscribe(context.Background()),
		log:      log,
		decode:   decode,
		channels: map[string]*channelState[E]{},
	}
}

// receiveTimeout bounds a silent read: the hub then pings, so a dead
// connection is noticed and replaced.
const receiveTimeout = 15 * time.Second

// Run receives pub/sub messages until ctx is cancelled; then the hub is
// closed for good. Connection losses are logged and retried; go-redis
// reconnects and subscribes again, and the hub asks every affected
// subscription to catch up from the store.
func (h *Hub[E]) Run(ctx context.Context) error {
	// Closing unblocks Receive. Also on return: when Receive notices ctx
	// first, stop would cancel the AfterFunc before it ran.
	stop := context.AfterFunc(ctx, h.close)
	defer stop()
	defer h.close()
	failures := 0
	for {
		msg, err := h.ps.ReceiveTimeout(ctx, receiveTimeout)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = h.ps.Ping(ctx) // the answer (or the failure) comes through Receive
				continue
			}
			if errors.Is(err, redis.ErrClosed) {
				return nil
			}
			h.connectionLost()
			failures++
			delay := min(time.Duration(failures)*100*time.Millisecond, 2*time.Second)
			h.log.Warn("pub/sub connection lost; reconnecting", "err", err, "retry_in", delay)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			continue
		}
		failures = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			h.confirmed(m)
		case *redis.Message:
			h.dispatch(m)
		}
	}
}

// close ends the hub for good: Subscribe fails from then on.
func (h *Hub[E]) close() {
	h.mu.Lock()
	already := h.closed
	h.closed = true
	h.mu.Unlock()
	if !already {
		_ = h.ps.Close() // nothing to flush; Receive returns
	}
}

// connectionLost forgets every confirmation: after the reconnect go-redis
// subscribes again to every channel, and each becomes live on its
// confirmation.
func (h *Hub[E]) connectionLost() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, st := range h.channels {
		if !st.subscribed {
			delete(h.channels, name)
			continue
		}
		st.pendingSubs, st.pendingUnsubs = 0, 0
		if st.live {
			st.live, st.wasLive = false, true
			st.ready = make(chan struct{})
		}
	}
}

func (h *Hub[E]) confirmed(m *redis.Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.channels[m.Channel]
	if !ok {
		return
	}
	switch m.Kind {
	case "subscribe":
		st.pendingSubs = max(0, st.pendingSubs-1)
		if st.pendingSubs == 0 && st.subscribed && !st.live {
			st.live = true
			close(st.ready)
			if st.wasLive {
				for sub := range st.subs {
					sub.signalResync()
				}
			}
		}
	case "unsubscribe":
		st.pendingUnsubs = max(0, st.pendingUnsubs-1)
		if !st.subscribed && st.pendingSubs == 0 && st.pendingUnsubs == 0 && len(st.subs) == 0 {
			delete(h.channels, m.Channel)
		}
	}
}

func (h *Hub[E]) dispatch(m *redis.Message) {
	h.mu.Lock()
	st, ok := h.channels[m.Channel]
	var subs []*Subscription[E]
	if ok && st.subscribed {
		subs = make([]*Subscription[E], 0, len(st.subs))
		for sub := range st.subs {
			subs = append(subs, sub)
		}
	}
	h.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	e, err := h.decode(m.Payload)
	if err != nil {
		h.log.Error("undecodable message on pub/sub", "channel", m.Channel, "err", err)
		return
	}
	for _, sub := range subs {
		// Subscribers share the decoded value and never modify it.
		// Never block the hub on one slow client: drop the message and let
		// the subscription catch up from the store.
		select {
		case sub.messages <- &e:
		default:
			sub.signalResync()
		}
	}
}

// Subscription receives one channel's live messages; Stream reads it.
type Subscription[E any] struct {
	hub      *Hub[E]
	channel  string
	messages chan *E
	// resync asks the reader to catch up from the store: messages may
	// have been lost (a full buffer, a pub/sub reconnect).
	resync chan struct{}
	once   sync.Once
}

func (s *Subscription[E]) signalResync() {
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// subscriptionBuffer holds messages a slow client has not taken yet; past
// it the subscription catches up from the store. Small, because every
// idle WebSocket pays for it.
const subscriptionBuffer = 16

// subscribeTimeout bounds the wait for Redis to confirm a subscription:
// while Redis is unreachable it cannot be confirmed, and the client had
// better retry than hang.
const subscribeTimeout = 10 * time.Second

// Subscribe subscribes to channel and returns once Redis confirmed that the
// subscription is in effect: anything published from then on reaches it.
// Subscriptions of one channel share one SUBSCRIBE. It fails when ctx ends
// or Redis has not confirmed within subscribeTimeout (10s). Close the
// subscription when done, or hand it to Stream, which closes it.
func (h *Hub[E]) Subscribe(ctx context.Context, channel string) (*Subscription[E], error) {
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	sub := &Subscription[E]{
		hub: h, channel: channel,
		messages: make(chan *E, subscriptionBuffer),
		resync:   make(chan struct{}, 1),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("live hub is closed")
	}
	st, ok := h.channels[channel]
	if !ok {
		st = &channelState[E]{subs: map[*Subscription[E]]struct{}{}, ready: make(chan struct{})}
		h.channels[channel] = st
	}
	st.subs[sub] = struct{}{}
	var err error
	if !st.subscribed {
		st.subscribed, st.live, st.wasLive = true, false, false
		st.ready = make(chan struct{})
		st.pendingSubs++
		// Written under h.mu so commands reach Redis in the order counted.
		err = h.ps.Subscribe(ctx, channel)
	}
	ready := st.ready
	h.mu.Unlock()
	if err != nil {
		// go-redis keeps the channel and subscribes on reconnect; the
		// confirmation then makes it live.
		h.log.Warn("subscribe failed; waiting for the reconnect", "channel", channel, "err", err)
	}
	select {
	case <-ready:
		return sub, nil
	case <-ctx.Done():
		sub.Close()
		return nil, fmt.Errorf("subscribe to %s: %w", channel, ctx.Err())
	}
}

// Close ends the subscription; the last one of a channel unsubscribes it.
// It may be called more than once.
func (s *Subscription[E]) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		st, ok := h.channels[s.channel]
		if !ok {
			return
		}
		delete(st.subs, s)
		if len(st.subs) > 0 || !st.subscribed || h.closed {
			return
		}
		st.subscribed, st.live = false, false
		st.pendingUnsubs++
		if err := h.ps.Unsubscribe(context.Background(), s.channel); err != nil {
			h.log.Warn("unsubscribe failed", "channel", s.channel, "err", err)
		}
	})
}
