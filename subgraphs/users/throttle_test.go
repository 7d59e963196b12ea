package users_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/subgraphs/users"
)

// TestLoginThrottle: after the free attempts, failed sign-ins to one address
// (known or not) are refused for a growing delay, whatever the password, and
// a success clears the count. Sign-ups that hit an existing address count
// the same, so probing for accounts costs what guessing passwords does.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *users.Config) { c.LoginFreeAttempts = 3 })
	e.register("tess")
	login := func(email, password string) subgraphtest.Response {
		return e.Do(e.Anonymous(), loginMutation, map[string]any{"e": email, "p": password})
	}

	for range 3 {
		require.Equal(t, "UNAUTHENTICATED", login("tess@example.com", "wrong password!").Code(t))
	}
	require.Equal(t, "UNAUTHENTICATED", login("tess@example.com", "wrong password!").Code(t), "the fourth failure starts the delay")
	locked := login("tess@example.com", testPassword) // the right password, too early
	require.Equal(t, "RATE_LIMITED", locked.Code(t))
	require.EqualValues(t, 1, locked.Errors[0].Extensions["retryAfter"])
	require.Equal(t, "RATE_LIMITED", login("TESS@example.com ", testPassword).Code(t), "the address, not its spelling")

	// Once the delay has passed, the right password works and clears the count.
	require.Eventually(t, func() bool { return len(login("tess@example.com", testPassword).Errors) == 0 },
		5*time.Second, 50*time.Millisecond)
	require.Equal(t, "UNAUTHENTICATED", login("tess@example.com", "wrong password!").Code(t), "counting starts afresh")

	// Unknown addresses are throttled alike.
	for range 4 {
		require.Equal(t, "UNAUTHENTICATED", login("nobody@example.com", "whatever pass").Code(t))
	}
	require.Equal(t, "RATE_LIMITED", login("nobody@example.com", "whatever pass").Code(t))

	// Sign-ups probing a taken address count against it.
	e.register("uma")
	probe := func() subgraphtest.Response {
		return e.Do(e.Anonymous(), registerMutation, map[string]any{"input": map[string]any{
			"email": "uma@example.com", "username": "prober", "password": testPassword, "roles": []string{},
		}})
	}
	for range 4 {
		require.Equal(t, "CONFLICT", probe().Code(t))
	}
	require.Equal(t, "RATE_LIMITED", probe().Code(t))
	require.Equal(t, "RATE_LIMITED", login("uma@example.com", testPassword).Code(t))
}

// TestPasswordHashingIsBounded: at most MaxConcurrentHashes hashes run at
// once (each takes the argon2id memory); a sign-in that waits longer than
// HashWait for its turn is told to retry, never answered with a server error.
func TestPasswordHashingIsBounded(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *users.Config) {
		c.MaxConcurrentHashes, c.HashWait = 1, time.Millisecond // a hash takes longer than the wait
	})
	e.register("hana")
	var wg sync.WaitGroup
	codes := make(chan string, 16)
	for range 16 {
		wg.Go(func() {
			r := e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "hana@example.com", "p": testPassword})
			code := ""
			if len(r.Errors) > 0 {
				code, _ = r.Errors[0].Extensions["code"].(string)
			}
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	counts := map[string]int{}
	for c := range codes {
		counts[c]++
	}
	require.Positive(t, counts[""], "some sign-ins went through: %v", counts)
	require.Positive(t, counts["RATE_LIMITED"], "the rest were told to retry: %v", counts)
	require.Equal(t, 16, counts[""]+counts["RATE_LIMITED"], "nothing else: %v", counts)
}

// TestLoginThrottleHoldsUnderBursts: an attempt is counted when it is let in,
// not when its (slow) password check ends, so a burst of concurrent guesses
// gets no more tries than the same guesses one after another: the free ones
// and the one that starts the delay.
func TestLoginThrottleHoldsUnderBursts(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *users.Config) { c.LoginFreeAttempts = 3 })
	e.register("bruno")
	codes := burst(16, func() subgraphtest.Response {
		return e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "bruno@example.com", "p": "wrong password!"})
	})
	require.Equal(t, 4, codes["UNAUTHENTICATED"], "three free guesses and the one that starts the delay: %v", codes)
	require.Equal(t, 12, codes["RATE_LIMITED"], "the rest refused before any hashing: %v", codes)

	// Probing sign-ups are let in the same way.
	e.register("carla")
	codes = burst(16, func() subgraphtest.Response {
		return e.Do(e.Anonymous(), registerMutation, map[string]any{"input": map[string]any{
			"email": "carla@example.com", "username": "prober", "password": testPassword, "roles": []string{},
		}})
	})
	require.Equal(t, 4, codes["CONFLICT"], "%v", codes)
	require.Equal(t, 12, codes["RATE_LIMITED"], "%v", codes)
}

// burst runs n requests at once and counts their first errors' codes ("" for none).
func burst(n int, do func() subgraphtest.Response) map[string]int {
	var wg sync.WaitGroup
	codes := make(chan string, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			r := do()
			code := ""
			if len(r.Errors) > 0 {
				code, _ = r.Errors[0].Extensions["code"].(string)
			}
			codes <- code
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	counts := map[string]int{}
	for c := range codes {
		counts[c]++
	}
	return counts
}

// TestThrottleIsPerAccount: guesses at one account share a count however its
// address is spelt, and guessing the current password in changePassword
// (with a stolen access token) spends the same attempts as signing in.
func TestThrottleIsPerAccount(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *users.Config) { c.LoginFreeAttempts = 3 })
	dora := e.register("dora")
	change := `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`
	for range 2 {
		r := e.Do(e.as(dora.Access), change, map[string]any{"c": "not my password", "n": "a brand new password"})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "Dora@Example.COM", "p": "wrong password!"}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "dora@example.com", "p": "wrong password!"}).Code(t))

	require.Equal(t, "RATE_LIMITED", e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "dora@example.com", "p": testPassword}).Code(t))
	r := e.Do(e.as(dora.Access), change, map[string]any{"c": testPassword, "n": "a brand new password"})
	require.Equal(t, "RATE_LIMITED", r.Code(t))
	require.Positive(t, r.Errors[0].Extensions["retryAfter"])
}

// TestBusyHashingDoesNotSpendAttempts: an attempt turned away because every
// hashing slot was taken never checked a password, so it does not count
// against the account: a flood of other sign-ins cannot lock a user out.
func TestBusyHashingDoesNotSpendAttempts(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *users.Config) {
		c.LoginFreeAttempts = 100
		c.MaxConcurrentHashes, c.HashWait = 1, time.Millisecond
	})
	ines := e.register("ines")
	codes := burst(16, func() subgraphtest.Response {
		return e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "ines@example.com", "p": "wrong password!"})
	})
	require.Positive(t, codes["RATE_LIMITED"], "some found no hashing slot: %v", codes)
	require.Equal(t, 16, codes["UNAUTHENTICATED"]+codes["RATE_LIMITED"], "%v", codes)
	n, err := e.Redis.HGet(context.Background(), "auth:throttle:account:"+ines.ID, "n").Int()
	require.NoError(t, err)
	require.Equal(t, codes["UNAUTHENTICATED"], n, "only the checked guesses count")
}
