package outbox

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterAndCap(t *testing.T) {
	const minDelay, maxDelay = 100 * time.Millisecond, 2 * time.Second
	for attempt, base := range map[int32]time.Duration{
		0: 100 * time.Millisecond, 1: 200 * time.Millisecond, 3: 800 * time.Millisecond,
		5: maxDelay, 40: maxDelay, 1 << 30: maxDelay, -1: maxDelay,
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(attempt, minDelay, maxDelay)
			if d < base/2 || d > base {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, base/2, base)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays: no jitter?", attempt, len(seen))
		}
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	if got := truncate("aé", 2); got != "a" {
		t.Errorf("truncate split a character: %q", got)
	}
	if got := truncate("abc", 5); got != "abc" {
		t.Errorf("truncate changed a short string: %q", got)
	}
}
