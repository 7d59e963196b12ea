package auth

import (
	"context"
	"fmt"
	"time"

	"supergraph/platform/identity"
)

// denyKeys are the deny-list keys that revoke p: its token's and, when it has
// one, its session's.
func denyKeys(p identity.Principal) []string {
	keys := []string{identity.DenyTokenKey(p.TokenID)}
	if p.SessionID != "" {
		keys = append(keys, identity.DenySessionKey(p.SessionID))
	}
	return keys
}

// checkRevokedCached reads the deny-list for a remembered token unless it said
// "not revoked" less than DenyCheckInterval ago. A revoked or unreadable
// result is never remembered.
func (v *Verifier) checkRevokedCached(ctx context.Context, e *verifiedToken, now time.Time) error {
	if v.denyInterval > 0 && now.UnixNano()-e.denyChecked.Load() < int64(v.denyInterval) {
		return nil
	}
	read, err := v.checkRevoked(ctx, e.p)
	if err != nil {
		return err
	}
	if read {
		e.denyChecked.Store(now.UnixNano())
	}
	return nil
}

// CheckRevoked consults the deny-list for the principal's token and session.
// Long-lived connections call it periodically.
func (v *Verifier) CheckRevoked(ctx context.Context, p identity.Principal) error {
	_, err := v.checkRevoked(ctx, p)
	return err
}

// checkRevoked is CheckRevoked that also tells whether the deny-list was
// actually read (false when it is off, or unreadable and failing open).
func (v *Verifier) checkRevoked(ctx context.Context, p identity.Principal) (bool, error) {
	if v.deny == nil || p.Anonymous() {
		return false, nil
	}
	n, err := v.deny.Exists(ctx, denyKeys(p)...).Result()
	return v.denyOutcome(ctx, n, err)
}

// denyOutcome interprets EXISTS on a principal's deny-list keys.
func (v *Verifier) denyOutcome(ctx context.Context, n int64, err error) (bool, error) {
	if err != nil {
		if v.failOpen {
			v.log.WarnContext(ctx, "deny-list unreadable, accepting token (fail-open)", "err", err)
			return false, nil
		}
		return false, fmt.Errorf("%w: %v", ErrRevocationUnknown, err)
	}
	if n > 0 {
		return true, ErrRevokedToken
	}
	return true, nil
}
