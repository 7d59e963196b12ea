package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"supergraph/platform/identity"
)

// Watch returns a context that ends when the principal's token expires or is
// revoked (checked every interval), with ErrExpiredToken or ErrRevokedToken as
// its cause; long-lived subscriptions run under it. Anonymous principals are
// never cut off. Call cancel to release the watch: the parent ending does not.
//
// No goroutine is kept per watch: expiry is a timer, and one sweeper per
// interval reads the deny-list for every watched token at once (pipelined, each
// distinct token and session once), so ten thousand idle subscribers cost ten
// thousand small structs, not ten thousand goroutines and Redis round trips.
func (v *Verifier) Watch(ctx context.Context, p identity.Principal, interval time.Duration) (context.Context, context.CancelFunc) {
	if p.Anonymous() {
		return context.WithCancel(ctx)
	}
	ctx, cancelCause := context.WithCancelCause(ctx)
	w := &watch{p: p, cancel: cancelCause}
	if p.TokenExpiresAt > 0 {
		w.expiry = time.AfterFunc(time.Until(time.Unix(p.TokenExpiresAt, 0)), func() { cancelCause(ErrExpiredToken) })
	}
	sw := v.sweeperFor(interval)
	sw.add(w)
	// Released by cancel alone (the parent ending does not): an AfterFunc
	// on the parent would cost every idle subscriber another allocation.
	return ctx, func() {
		cancelCause(context.Canceled)
		if w.expiry != nil {
			w.expiry.Stop()
		}
		sw.remove(w)
	}
}

// watch is one watched principal.
type watch struct {
	p      identity.Principal
	cancel context.CancelCauseFunc
	expiry *time.Timer
}

// sweeper checks the deny-list for all watches of one interval.
type sweeper struct {
	v        *Verifier
	interval time.Duration
	mu       sync.Mutex
	watches  map[*watch]struct{}
	running  bool
}

func (v *Verifier) sweeperFor(interval time.Duration) *sweeper {
	v.sweepersMu.Lock()
	defer v.sweepersMu.Unlock()
	if v.sweepers == nil {
		v.sweepers = map[time.Duration]*sweeper{}
	}
	sw := v.sweepers[interval]
	if sw == nil {
		sw = &sweeper{v: v, interval: interval, watches: map[*watch]struct{}{}}
		v.sweepers[interval] = sw
	}
	return sw
}

func (sw *sweeper) add(w *watch) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.watches[w] = struct{}{}
	if !sw.running {
		// The sweeper's goroutine runs only while something is watched.
		sw.running = true
		go sw.run()
	}
}

func (sw *sweeper) remove(w *watch) {
	sw.mu.Lock()
	delete(sw.watches, w)
	sw.mu.Unlock()
}

func (sw *sweeper) run() {
	t := time.NewTicker(sw.interval)
	defer t.Stop()
	for range t.C {
		sw.mu.Lock()
		if len(sw.watches) == 0 {
			sw.running = false
			sw.mu.Unlock()
			return
		}
		ws := make([]*watch, 0, len(sw.watches))
		for w := range sw.watches {
			ws = append(ws, w)
		}
		sw.mu.Unlock()
		sw.v.sweep(ws, sw.interval)
	}
}

// listenRevocations applies the deny-list writes the users service announces
// (identity.RevocationChannel) as they happen, until ctx ends: the watches of
// that token or session end (their connections close) and remembered tokens
// read the deny-list on their next request, whatever the check intervals.
// Announcements lost while the subscription reconnects are made up for by a
// sweep of every watch each time it (re)subscribes, and by the periodic sweeps.
func (v *Verifier) listenRevocations(ctx context.Context) {
	ps := v.deny.Subscribe(ctx, identity.RevocationChannel)
	// Closed when ctx ends, that is at shutdown, when the client may be closed
	// already: a failure leaves nothing to undo or retry.
	defer func() { _ = ps.Close() }()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// go-redis reconnects on the next Receive; don't spin meanwhile.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				v.sweep(v.allWatches(), time.Second)
			}
		case *redis.Message:
			v.revoked(m.Payload)
		}
	}
}

// revoked applies one announced deny-list key.
func (v *Verifier) revoked(key string) {
	matches := func(p identity.Principal) bool {
		return key == identity.DenyTokenKey(p.TokenID) || (p.SessionID != "" && key == identity.DenySessionKey(p.SessionID))
	}
	for _, w := range v.allWatches() {
		if matches(w.p) {
			w.cancel(ErrRevokedToken)
		}
	}
	if v.verified == nil {
		return
	}
	for _, token := range v.verified.Keys() {
		if e, ok := v.verified.Peek(token); ok && matches(e.p) {
			e.denyChecked.Store(0)
		}
	}
}

// allWatches lists every watch of every interval.
func (v *Verifier) allWatches() []*watch {
	v.sweepersMu.Lock()
	sweepers := make([]*sweeper, 0, len(v.sweepers))
	for _, sw := range v.sweepers {
		sweepers = append(sweepers, sw)
	}
	v.sweepersMu.Unlock()
	var ws []*watch
	for _, sw := range sweepers {
		sw.mu.Lock()
		for w := range sw.watches {
			ws = append(ws, w)
		}
		sw.mu.Unlock()
	}
	return ws
}

// sweep cancels the watches whose token or session is on the deny-list. An
// unreadable deny-list cuts nobody off: the next sweep tries again.
func (v *Verifier) sweep(ws []*watch, timeout time.Duration) {
	if v.deny == nil {
		return
	}
	// Each distinct key is asked once, however many watches share it.
	byKey := map[string][]*watch{}
	for _, w := range ws {
		byKey[identity.DenyTokenKey(w.p.TokenID)] = append(byKey[identity.DenyTokenKey(w.p.TokenID)], w)
		if w.p.SessionID != "" {
			k := identity.DenySessionKey(w.p.SessionID)
			byKey[k] = append(byKey[k], w)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout, time.Second))
	defer cancel()
	const chunk = 1000
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		pipe := v.deny.Pipeline()
		cmds := make([]*redis.IntCmd, n)
		for i, k := range keys[:n] {
			cmds[i] = pipe.Exists(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			v.log.Warn("deny-list sweep failed", "err", err)
			return
		}
		for i, k := range keys[:n] {
			if cmds[i].Val() > 0 {
				for _, w := range byKey[k] {
					w.cancel(ErrRevokedToken)
				}
			}
		}
		keys = keys[n:]
	}
}
