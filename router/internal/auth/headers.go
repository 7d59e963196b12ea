package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"supergraph/platform/identity"
)

// RequestIDHeader carries the router's request id to subgraphs and back to clients.
const RequestIDHeader = "X-Request-Id"

// Assertions signs internal assertions and reuses each principal's for half
// its lifetime: an assertion is per principal and subgraph (its audience), not
// per request, and signing is an Ed25519 signature on every request otherwise.
// Entries are keyed by the subgraph and every field of the principal (never
// by a hash), so two principals can never share one. A reused assertion still
// has at least half its TTL left when it reaches a subgraph.
type Assertions struct {
	signer *identity.Signer
	cache  *lru.Cache[string, *signedAssertion]
	reuse  time.Duration
	now    func() time.Time
}

type signedAssertion struct {
	token string
	until time.Time
}

// NewAssertions returns an assertion source remembering at most size principals'.
func NewAssertions(signer *identity.Signer, size int) *Assertions {
	if size <= 0 {
		size = 10_000
	}
	cache, _ := lru.New[string, *signedAssertion](size) // only fails for size <= 0
	return &Assertions{signer: signer, cache: cache, reuse: identity.TTL / 2, now: time.Now}
}

// assertionKey spells out subgraph and every field of p: the cache key must
// distinguish every pair of principals exactly.
func assertionKey(p identity.Principal, subgraph string) string {
	roles := slices.Clone(p.Roles)
	slices.Sort(roles)
	var b strings.Builder
	b.Grow(len(subgraph) + len(p.UserID) + len(p.TokenID) + len(p.SessionID) + 32)
	b.WriteString(subgraph)
	b.WriteByte(0)
	b.WriteString(p.UserID)
	b.WriteByte(0)
	b.WriteString(p.TokenID)
	b.WriteByte(0)
	b.WriteString(p.SessionID)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(p.TokenExpiresAt, 10))
	for _, r := range roles {
		b.WriteByte(0)
		b.WriteString(r)
	}
	return b.String()
}

// For returns p's assertion for subgraph, signing a new one when the
// remembered one is past half its life. On a signing failure the assertion is
// "" (the subgraph then sees an anonymous request: degraded, never escalated)
// and nothing is remembered.
func (a *Assertions) For(p identity.Principal, subgraph string) (string, error) {
	key := assertionKey(p, subgraph)
	now := a.now()
	if e, ok := a.cache.Get(key); ok && now.Before(e.until) {
		return e.token, nil
	}
	tok, err := a.signer.Sign(p, subgraph)
	if err != nil {
		return "", err
	}
	a.cache.Add(key, &signedAssertion{token: tok, until: now.Add(a.reuse)})
	return tok, nil
}

// SubgraphHeaders builds the headers of every subgraph request made for one client
// request. It implements resolve.SubgraphHeadersBuilder: the engine asks it per
// fetch, and the hash it returns is part of the engine's de-duplication keys, so
// identical fetches of two different principals are never merged.
//
// Nothing a client sent is copied here except the W3C trace context, which is
// validated first: identity reaches subgraphs only as the signed assertion.
type SubgraphHeaders struct {
	assertions  *Assertions
	principal   identity.Principal
	requestID   string
	traceparent string
	tracestate  string
	log         *slog.Logger

	once sync.Once
	hash uint64 // PrincipalHash, computed once
}

// NewSubgraphHeaders returns the header builder for one request acting for p.
func NewSubgraphHeaders(assertions *Assertions, p identity.Principal, requestID, traceparent, tracestate string, log *slog.Logger) *SubgraphHeaders {
	h := &SubgraphHeaders{
		assertions: assertions,
		principal:  p,
		requestID:  requestID,
		log:        log,
	}
	if ValidTraceparent(traceparent) {
		h.traceparent = traceparent
		if len(tracestate) <= 512 {
			h.tracestate = tracestate
		}
	}
	return h
}

// PrincipalHash identifies a principal for de-duplication; never zero.
func PrincipalHash(p identity.Principal) uint64 {
	roles := slices.Clone(p.Roles)
	slices.Sort(roles)
	d := xxhash.New()
	_, _ = d.WriteString("principal\x00" + p.UserID + "\x00" + p.TokenID + "\x00" + p.SessionID + "\x00" + strconv.FormatInt(p.TokenExpiresAt, 10))
	for _, r := range roles {
		_, _ = d.WriteString("\x00" + r)
	}
	if s := d.Sum64(); s != 0 {
		return s
	}
	return 1
}

func (h *SubgraphHeaders) principalHash() uint64 {
	h.once.Do(func() { h.hash = PrincipalHash(h.principal) })
	return h.hash
}

// Assertion returns the signed internal assertion for subgraph (a request
// answered by the router alone never asks for one).
func (h *SubgraphHeaders) Assertion(subgraph string) string {
	a, err := h.assertions.For(h.principal, subgraph)
	if err != nil {
		h.log.Error("sign internal assertion", "subgraph", subgraph, "err", err)
	}
	return a
}

// HeadersForSubgraph returns a fresh map on every call: the engine's WebSocket
// client writes into the map it gets. The keys are already canonical.
func (h *SubgraphHeaders) HeadersForSubgraph(subgraph string) (http.Header, uint64) {
	hdr := make(http.Header, 4)
	if a := h.Assertion(subgraph); a != "" {
		hdr[identity.Header] = []string{a}
	}
	if h.requestID != "" {
		hdr[RequestIDHeader] = []string{h.requestID}
	}
	if h.traceparent != "" {
		hdr["Traceparent"] = []string{h.traceparent}
		if h.tracestate != "" {
			hdr["Tracestate"] = []string{h.tracestate}
		}
	}
	return hdr, h.principalHash()
}

// HashAll is the identity part of the inbound request de-duplication key.
func (h *SubgraphHeaders) HashAll() uint64 { return h.principalHash() }

// InitialPayload is the upstream connection_init payload of a subscription to
// subgraph: the assertion again, for subgraphs that authenticate WebSockets by
// their init payload.
func (h *SubgraphHeaders) InitialPayload(subgraph string) []byte {
	b, _ := json.Marshal(map[string]string{identity.Header: h.Assertion(subgraph)})
	return b
}

// ValidTraceparent reports whether v is a W3C traceparent (version 00 layout):
// only a well-formed one is forwarded, so a client cannot smuggle other data.
func ValidTraceparent(v string) bool {
	// 2 version - 32 trace-id - 16 parent-id - 2 flags
	if len(v) != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return false
	}
	for i, c := range v {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !strings.ContainsRune("0123456789abcdef", c) { // lower-case hex only
			return false
		}
	}
	return v[:2] != "ff" && v[3:35] != "00000000000000000000000000000000" && v[36:52] != "0000000000000000"
}
