package pipeline

import (
	"sync"

	"supergraph/platform/identity"
	"supergraph/router/internal/ratelimit"
)

// liveLimits bounds what long-lived clients hold open: WebSocket
// connections per client address, and subscriptions (WebSocket and SSE) per
// principal (the user, or the client address when anonymous). A subscription
// holds upstream resources in a subgraph for as long as it is open: it
// occupies one of its principal's slots until it ends (and pays for every
// event from the rate-limit budget).
type liveLimits struct {
	mu               sync.Mutex
	conns, subs      map[string]int
	maxConns, maxSub int
	// ipv6Prefix: an IPv6 client is counted by its network, as its
	// rate-limit budget is (one host can take any address of its /64).
	ipv6Prefix int
}

func newLiveLimits(maxConns, maxSubs, ipv6Prefix int) *liveLimits {
	return &liveLimits{conns: map[string]int{}, subs: map[string]int{}, maxConns: maxConns, maxSub: maxSubs, ipv6Prefix: ipv6Prefix}
}

// connection takes one of clientIP's connection slots; release gives it
// back (once). ok is false when they are all taken (0 disables the limit).
func (l *liveLimits) connection(clientIP string) (release func(), ok bool) {
	return l.take(l.conns, ratelimit.ClientNetwork(clientIP, l.ipv6Prefix), l.maxConns)
}

// subscription takes one of the principal's subscription slots.
func (l *liveLimits) subscription(p identity.Principal, clientIP string) (release func(), ok bool) {
	key := "user:" + p.UserID
	if p.Anonymous() {
		key = "ip:" + ratelimit.ClientNetwork(clientIP, l.ipv6Prefix)
	}
	return l.take(l.subs, key, l.maxSub)
}

func (l *liveLimits) take(m map[string]int, key string, limit int) (func(), bool) {
	if limit <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if m[key] >= limit {
		return nil, false
	}
	m[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if m[key]--; m[key] <= 0 {
				delete(m, key)
			}
		})
	}, true
}
