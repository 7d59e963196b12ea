package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
)

// Throttle slows password guessing down per account (and, for addresses
// without an account, per e-mail address), for every replica at once through
// Redis: after FreeAttempts attempts within Window, each further attempt must
// wait twice as long as the one before (1 s, 2 s, 4 s, ... up to MaxDelay).
// Sign-ins, password changes and sign-ups that hit an existing address count
// alike, so probing which addresses have accounts costs what guessing
// passwords does. An attempt counts when it is let in, before its password is
// checked: a burst of concurrent guesses gets no more tries than the same
// guesses made one after another. A success clears the count. Redis being
// unreachable lets attempts through (logged): the router's rate limits and
// the cap on concurrent hashing still apply.
type Throttle struct {
	rdb  *redis.Client
	opts ThrottleOptions
	log  *slog.Logger
}

// ThrottleOptions tune a Throttle.
type ThrottleOptions struct {
	FreeAttempts int
	Window       time.Duration
	MaxDelay     time.Duration
}

// NewThrottle returns a throttle keeping its counts in rdb.
func NewThrottle(rdb *redis.Client, opts ThrottleOptions, log *slog.Logger) *Throttle {
	return &Throttle{rdb: rdb, opts: opts, log: log}
}

// accountThrottle names an existing account's counter: however its address
// is spelt, guesses against one account share it.
func accountThrottle(id uuid.UUID) string { return "auth:throttle:account:" + id.String() }

// addressThrottle names the counter of an address without an account,
// without storing the address.
func addressThrottle(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "auth:throttle:email:" + hex.EncodeToString(sum[:16])
}

// admitScript lets an attempt in and counts it, or answers how many
// milliseconds remain before the next one may come; one round trip, atomic,
// on Redis's clock (the same for every replica). Past the free attempts,
// each one let in sets when the next may come.
var admitScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local free, maxDelay, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < untilMs then
  return untilMs - now
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n > free then
  redis.call('HSET', KEYS[1], 'until', now + math.min(1000 * 2 ^ (n - free - 1), maxDelay))
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 0`)

// Admit lets an attempt against key in (and counts it) or refuses it with
// RATE_LIMITED while the key's delay runs.
func (t *Throttle) Admit(ctx context.Context, key string) error {
	wait, err := admitScript.Run(ctx, t.rdb, []string{key},
		t.opts.FreeAttempts, t.opts.MaxDelay.Milliseconds(), max(t.opts.Window, t.opts.MaxDelay).Milliseconds()).Int64()
	if err != nil {
		t.log.WarnContext(ctx, "sign-in throttle unavailable; attempt let through", "err", err)
		return nil
	}
	if wait > 0 {
		return apperr.RateLimited("too many password attempts for this account or e-mail address: try again later",
			time.Duration(wait)*time.Millisecond)
	}
	return nil
}

// refundScript uncounts one attempt; the delay it may have started stays.
var refundScript = redis.NewScript(`
if redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then
  redis.call('DEL', KEYS[1])
end
return 0`)

// Refund uncounts an attempt that was let in but never checked a password
// (no hashing slot in time, or the client went away): a flood of other
// sign-ins must not use up a real user's attempts.
func (t *Throttle) Refund(ctx context.Context, key string) {
	if err := refundScript.Run(context.WithoutCancel(ctx), t.rdb, []string{key}).Err(); err != nil {
		t.log.WarnContext(ctx, "sign-in throttle not refunded", "err", err)
	}
}

// Reset clears key's count after a success.
func (t *Throttle) Reset(ctx context.Context, key string) {
	if err := t.rdb.Del(context.WithoutCancel(ctx), key).Err(); err != nil {
		t.log.WarnContext(ctx, "sign-in throttle not cleared", "err", err)
	}
}
