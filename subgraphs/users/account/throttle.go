package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
)

// Throttle slows password guessing down per e-mail address (and so per
// account), for every replica at once through Redis: after FreeAttempts
// failures within Window, each further attempt must wait twice as long as the
// one before (1 s, 2 s, 4 s, ... up to MaxDelay). It counts failed sign-ins
// and sign-ups that hit an existing address alike, so probing which
// addresses have accounts costs what guessing passwords does. A success
// clears it. Redis being unreachable lets attempts through (logged): the
// router's rate limits still apply.
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

// throttleKey names an address's counter without storing the address.
func throttleKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "auth:throttle:" + hex.EncodeToString(sum[:16])
}

// Check refuses an attempt for email while its delay runs.
func (t *Throttle) Check(ctx context.Context, email string) error {
	until, err := t.rdb.HGet(ctx, throttleKey(email), "until").Int64()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		t.log.WarnContext(ctx, "sign-in throttle unreadable; attempt let through", "err", err)
		return nil
	}
	if wait := time.Until(time.UnixMilli(until)); wait > 0 {
		return apperr.RateLimited("too many failed attempts for this e-mail address: try again later", wait)
	}
	return nil
}

// failScript counts a failure and, past the free attempts, sets the time
// before which the next attempt is refused; one round trip, atomic.
var failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free, base, maxDelay, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if n > free then
  local delay = math.min(1000 * 2 ^ (n - free - 1), maxDelay)
  redis.call('HSET', KEYS[1], 'until', base + delay)
end
redis.call('PEXPIRE', KEYS[1], math.max(window, maxDelay))
return n`)

// Fail counts a failed attempt for email.
func (t *Throttle) Fail(ctx context.Context, email string) {
	err := failScript.Run(ctx, t.rdb, []string{throttleKey(email)},
		t.opts.FreeAttempts, time.Now().UnixMilli(), t.opts.MaxDelay.Milliseconds(), t.opts.Window.Milliseconds()).Err()
	if err != nil {
		t.log.WarnContext(ctx, "sign-in throttle not updated", "err", err)
	}
}

// Reset clears email's failures after a success.
func (t *Throttle) Reset(ctx context.Context, email string) {
	if err := t.rdb.Del(ctx, throttleKey(email)).Err(); err != nil {
		t.log.WarnContext(ctx, "sign-in throttle not cleared", "err", err)
	}
}
