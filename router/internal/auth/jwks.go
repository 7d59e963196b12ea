package auth

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// keySet is the fetched JWKS, refreshed by keyfunc in the background until
// stop is called or the router's context ends.
type keySet struct {
	keyfunc.Keyfunc
	stop context.CancelFunc
}

// jwksOverride is how keyfunc fetches and refreshes the users service's key
// set: every refresh interval, and early (rate-limited) for an unknown kid.
func jwksOverride(refresh time.Duration, log *slog.Logger) keyfunc.Override {
	return keyfunc.Override{
		Client:      &http.Client{Transport: &http.Transport{Proxy: nil}},
		HTTPTimeout: 3 * time.Second,
		// The first fetch fails loudly: loadKeys retries it.
		NoErrorReturnFirstHTTPReq: new(false),
		RefreshInterval:           refresh,
		// One refetch per second at most for unknown kids (rotation), and never make
		// a request wait for one: a forged kid must not stall or amplify traffic.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Second), 1),
		RateLimitWaitMax:  time.Millisecond,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "JWKS refresh failed", "url", u, "err", err)
			}
		},
	}
}

// Ready reports whether the key set has been fetched: until then no token
// can be verified.
func (v *Verifier) Ready() bool { return v.keys.Load() != nil }

// fetchKeys fetches the key set once and, on success, installs it with its
// background refresh, which runs until ctx (the router's) ends.
func (v *Verifier) fetchKeys(ctx context.Context, url string, override keyfunc.Override) error {
	attempt, cancel := context.WithCancel(ctx)
	kf, err := keyfunc.NewDefaultOverrideCtx(attempt, []string{url}, override)
	if err != nil {
		cancel() // a failed attempt leaves its refresh goroutine behind otherwise
		return err
	}
	v.keys.Store(&keySet{Keyfunc: kf, stop: cancel})
	return nil
}

// loadKeys retries fetchKeys with backoff (100 ms doubling to 5 s) until it
// succeeds or ctx ends.
func (v *Verifier) loadKeys(ctx context.Context, url string, override keyfunc.Override) {
	const maxDelay = 5 * time.Second
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		err := v.fetchKeys(ctx, url, override)
		if err == nil {
			v.log.InfoContext(ctx, "JWKS loaded", "url", url)
			return
		}
		if delay == maxDelay {
			v.log.WarnContext(ctx, "JWKS still not reachable", "url", url, "err", err)
		}
		delay = min(2*delay, maxDelay)
	}
}
