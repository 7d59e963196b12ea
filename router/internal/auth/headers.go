package auth

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/cespare/xxhash/v2"

	"supergraph/platform/identity"
)

// RequestIDHeader carries the router's request id to subgraphs and back to clients.
const RequestIDHeader = "X-Request-Id"

// SubgraphHeaders builds the headers of every subgraph request made for one client
// request. It implements resolve.SubgraphHeadersBuilder: the engine asks it per
// fetch, and the hash it returns is part of the engine's de-duplication keys, so
// identical fetches of two different principals are never merged.
//
// Nothing a client sent is copied here except the W3C trace context, which is
// validated first: identity reaches subgraphs only as the signed assertion.
type SubgraphHeaders struct {
	signer      *identity.Signer
	principal   identity.Principal
	requestID   string
	traceparent string
	tracestate  string
	log         *slog.Logger

	once      sync.Once
	assertion string
	hash      uint64
}

// NewSubgraphHeaders returns the header builder for one request acting for p.
func NewSubgraphHeaders(signer *identity.Signer, p identity.Principal, requestID, traceparent, tracestate string, log *slog.Logger) *SubgraphHeaders {
	h := &SubgraphHeaders{
		signer:    signer,
		principal: p,
		requestID: requestID,
		log:       log,
		hash:      PrincipalHash(p),
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

// Assertion returns the signed internal assertion for this request, signing it on
// first use (a request that is answered from the router alone never signs).
func (h *SubgraphHeaders) Assertion() string {
	h.once.Do(func() {
		a, err := h.signer.Sign(h.principal)
		if err != nil {
			// Without an assertion the subgraph treats the request as anonymous:
			// degraded, never escalated.
			h.log.Error("sign internal assertion", "err", err)
			return
		}
		h.assertion = a
	})
	return h.assertion
}

// HeadersForSubgraph returns a fresh map on every call: the engine's WebSocket
// client writes into the map it gets.
func (h *SubgraphHeaders) HeadersForSubgraph(string) (http.Header, uint64) {
	hdr := make(http.Header, 4)
	if a := h.Assertion(); a != "" {
		hdr.Set(identity.Header, a)
	}
	if h.requestID != "" {
		hdr.Set(RequestIDHeader, h.requestID)
	}
	if h.traceparent != "" {
		hdr.Set("Traceparent", h.traceparent)
		if h.tracestate != "" {
			hdr.Set("Tracestate", h.tracestate)
		}
	}
	return hdr, h.hash
}

// HashAll is the identity part of the inbound request de-duplication key.
func (h *SubgraphHeaders) HashAll() uint64 { return h.hash }

// InitialPayload is the upstream connection_init payload of subscriptions: the
// assertion again, for subgraphs that authenticate WebSockets by their init payload.
func (h *SubgraphHeaders) InitialPayload() []byte {
	b, _ := json.Marshal(map[string]string{identity.Header: h.Assertion()})
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
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return v[:2] != "ff" && v[3:35] != "00000000000000000000000000000000" && v[36:52] != "0000000000000000"
}
