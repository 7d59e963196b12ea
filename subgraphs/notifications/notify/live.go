package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Live delivery: the worker PUBLISHes every stored in-app notification on
// its recipient's Redis channel; every subgraph replica runs one Hub, a
// single pub/sub connection SUBSCRIBEd to the channels of the users that
// replica serves, and hands messages to their subscriptions. So any replica
// serves any user, and a replica holds one Redis connection however many
// WebSockets it has.

// Channel is the pub/sub channel of a user's notifications. Pub/sub ignores
// the database number, so any client of the server reaches it.
func Channel(user uuid.UUID) string { return "notifications:user:" + user.String() }

// wire is the published form of a notification.
type wire struct {
	ID          uuid.UUID       `json:"id"`
	Seq         int64           `json:"seq"`
	RecipientID uuid.UUID       `json:"recipient_id"`
	Kind        string          `json:"kind"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	Link        *string         `json:"link,omitempty"`
	Data        json.RawMessage `json:"data"`
	ReadAt      *time.Time      `json:"read_at,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	EmailStatus string          `json:"email_status"`
	PushStatus  string          `json:"push_status"`
}

// Publish sends n to its recipient's live subscribers on every replica.
func Publish(ctx context.Context, rdb *redis.Client, n Notification) error {
	msg, err := json.Marshal(wire{
		ID: n.ID, Seq: n.Seq, RecipientID: n.RecipientID, Kind: n.Kind, Title: n.Title, Body: n.Body,
		Link: n.Link, Data: n.Data, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt,
		EmailStatus: n.EmailStatus, PushStatus: n.PushStatus,
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", n.ID, err)
	}
	if err := rdb.Publish(ctx, Channel(n.RecipientID), msg).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", n.ID, err)
	}
	return nil
}

func decode(payload string) (Notification, error) {
	var w wire
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return Notification{}, err
	}
	return Notification{
		ID: w.ID, Seq: w.Seq, RecipientID: w.RecipientID, Kind: w.Kind, Title: w.Title, Body: w.Body,
		Link: w.Link, Data: w.Data, InApp: true, ReadAt: w.ReadAt, CreatedAt: w.CreatedAt,
		EmailStatus: w.EmailStatus, PushStatus: w.PushStatus,
	}, nil
}

// Hub multiplexes one Redis pub/sub connection over many subscriptions.
type Hub struct {
	ps  *redis.PubSub
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]*channelState
	closed   bool
}

// channelState tracks one Redis channel. Redis answers SUBSCRIBE and
// UNSUBSCRIBE in the order it receives them, so counting the confirmations
// still due tells when the latest SUBSCRIBE is in effect.
type channelState struct {
	subs map[*Subscription]struct{}
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

// NewHub returns a Hub on rdb's server. Run must be running for
// subscriptions to become live.
func NewHub(rdb *redis.Client, log *slog.Logger) *Hub {
	return &Hub{
		ps:       rdb.Subscribe(context.Background()),
		log:      log.With("component", "notifications-hub"),
		channels: map[string]*channelState{},
	}
}

// receiveTimeout bounds a silent read: the hub then pings, so a dead
// connection is noticed and replaced.
const receiveTimeout = 15 * time.Second

// Run receives pub/sub messages until ctx is cancelled. Connection losses are
// logged and retried; go-redis reconnects and subscribes again, and the hub
// asks every affected subscription to catch up from the database.
func (h *Hub) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		_ = h.ps.Close() // unblocks Receive
	})
	defer stop()
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

// connectionLost forgets every confirmation: after the reconnect go-redis
// subscribes again to every channel, and each becomes live on its
// confirmation.
func (h *Hub) connectionLost() {
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

func (h *Hub) confirmed(m *redis.Subscription) {
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

func (h *Hub) dispatch(m *redis.Message) {
	h.mu.Lock()
	st, ok := h.channels[m.Channel]
	var subs []*Subscription
	if ok && st.subscribed {
		subs = make([]*Subscription, 0, len(st.subs))
		for sub := range st.subs {
			subs = append(subs, sub)
		}
	}
	h.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	n, err := decode(m.Payload)
	if err != nil {
		h.log.Error("undecodable notification on pub/sub", "channel", m.Channel, "err", err)
		return
	}
	for _, sub := range subs {
		// Subscribers share the decoded value and never modify it.
		// Never block the hub on one slow client: drop the message and let
		// the subscription catch up from the database.
		select {
		case sub.messages <- &n:
		default:
			sub.signalResync()
		}
	}
}

// Subscription receives one user's live notifications.
type Subscription struct {
	hub      *Hub
	channel  string
	messages chan *Notification
	// resync asks the reader to catch up from the database: messages may
	// have been lost (a full buffer, a pub/sub reconnect).
	resync chan struct{}
	once   sync.Once
}

func (s *Subscription) signalResync() {
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// subscriptionBuffer holds messages a slow client has not taken yet; past
// it the subscription catches up from the database. Small, because every
// idle WebSocket pays for it.
const subscriptionBuffer = 16

// Subscribe subscribes to user's channel and returns once Redis confirmed
// that the subscription is in effect: anything published from then on
// reaches it.
func (h *Hub) Subscribe(ctx context.Context, user uuid.UUID) (*Subscription, error) {
	sub := &Subscription{
		hub: h, channel: Channel(user),
		messages: make(chan *Notification, subscriptionBuffer),
		resync:   make(chan struct{}, 1),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("notifications hub is closed")
	}
	st, ok := h.channels[sub.channel]
	if !ok {
		st = &channelState{subs: map[*Subscription]struct{}{}, ready: make(chan struct{})}
		h.channels[sub.channel] = st
	}
	st.subs[sub] = struct{}{}
	var err error
	if !st.subscribed {
		st.subscribed, st.live, st.wasLive = true, false, false
		st.ready = make(chan struct{})
		st.pendingSubs++
		// Written under h.mu so commands reach Redis in the order counted.
		err = h.ps.Subscribe(ctx, sub.channel)
	}
	ready := st.ready
	h.mu.Unlock()
	if err != nil {
		// go-redis keeps the channel and subscribes on reconnect; the
		// confirmation then makes it live.
		h.log.Warn("subscribe failed; waiting for the reconnect", "err", err)
	}
	select {
	case <-ready:
		return sub, nil
	case <-ctx.Done():
		sub.Close()
		return nil, fmt.Errorf("subscribe to live notifications: %w", ctx.Err())
	}
}

// Close ends the subscription; the last one of a channel unsubscribes it.
func (s *Subscription) Close() {
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
