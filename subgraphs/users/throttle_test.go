package users_test

import (
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
