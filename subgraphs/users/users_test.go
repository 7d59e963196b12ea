package users_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"supergraph/platform/demo"
	"supergraph/platform/identity"
	"supergraph/platform/keys"
	"supergraph/platform/redisx"
	"supergraph/platform/subgraph/subgraphtest"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/users"
)

func TestRegisterSignsInAndQueuesWelcome(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.register("alice", "FREELANCER")
	require.Equal(t, "alice@example.com", s.Email, "the user sees their own e-mail")
	claims := e.verifyAccessToken(s.Access)
	require.Equal(t, s.ID, claims.Subject)
	require.Equal(t, []string{"FREELANCER"}, claims.Roles)
	require.NotEmpty(t, claims.ID, "jti")
	require.NotEmpty(t, claims.SessionID, "sid")
	require.WithinDuration(t, time.Now().Add(15*time.Minute), claims.ExpiresAt.Time, time.Minute)

	// The WELCOME event was written in the sign-up transaction...
	var id, payload string
	require.NoError(t, e.DB.QueryRow(context.Background(),
		"SELECT id::text, payload::text FROM outbox WHERE task_type = $1", tasks.TypeNotificationDeliver).Scan(&id, &payload))
	var event tasks.NotificationDeliver
	require.NoError(t, json.Unmarshal([]byte(payload), &event))
	require.Equal(t, "WELCOME", event.Kind)
	require.Equal(t, s.ID, event.RecipientID)
	require.NoError(t, event.Validate())
	require.Equal(t, id, event.EventID, "the event id is the outbox and task id")

	// ...and the relay hands it to the queue with the outbox id as task id.
	opt, err := redisx.AsynqOpt(e.RedisServer.URL(3))
	require.NoError(t, err)
	inspector := asynq.NewInspector(opt)
	defer func() { require.NoError(t, inspector.Close()) }()
	require.Eventually(t, func() bool {
		info, err := inspector.GetTaskInfo(tasks.QueueFor(tasks.TypeNotificationDeliver), id)
		return err == nil && info.Type == tasks.TypeNotificationDeliver
	}, 10*time.Second, 20*time.Millisecond, "task %s enqueued", id)
	var sent bool
	require.Eventually(t, func() bool {
		err := e.DB.QueryRow(context.Background(), "SELECT sent_at IS NOT NULL FROM outbox WHERE id = $1", id).Scan(&sent)
		return err == nil && sent
	}, 10*time.Second, 20*time.Millisecond, "outbox row marked sent")
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cases := []struct {
		name, email, username, password string
		roles                           []string
		field                           string
	}{
		{"bad email", "not-an-email", "valid_name", testPassword, nil, "email"},
		{"email with display name", "Bob <bob@example.com>", "valid_name", testPassword, nil, "email"},
		{"short username", "a@example.com", "ab", testPassword, nil, "username"},
		{"uppercase username", "a@example.com", "Alice", testPassword, nil, "username"},
		{"long username", "a@example.com", strings.Repeat("a", 31), testPassword, nil, "username"},
		{"weak password", "a@example.com", "valid_name", "short", nil, "password"},
		{"huge password", "a@example.com", "valid_name", strings.Repeat("p", 200), nil, "password"},
		{"staff at sign-up", "a@example.com", "valid_name", testPassword, []string{"STAFF"}, "roles"},
		{"moderator at sign-up", "a@example.com", "valid_name", testPassword, []string{"MODERATOR"}, "roles"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			roles := c.roles
			if roles == nil {
				roles = []string{}
			}
			r := e.Do(e.Anonymous(), registerMutation, map[string]any{"input": map[string]any{
				"email": c.email, "username": c.username, "password": c.password, "roles": roles,
			}})
			require.Equal(t, "BAD_USER_INPUT", r.Code(t))
			require.Equal(t, c.field, r.Errors[0].Extensions["field"])
		})
	}
	var n int
	require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n))
	require.Zero(t, n, "no invalid account was created")
}

func TestRegisterConflicts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.register("alice")
	input := func(email, username string) map[string]any {
		return map[string]any{"input": map[string]any{"email": email, "username": username, "password": testPassword}}
	}
	r := e.Do(e.Anonymous(), registerMutation, input("ALICE@example.com", "alice2"))
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "email", r.Errors[0].Extensions["field"])

	r = e.Do(e.Anonymous(), registerMutation, input("other@example.com", "alice"))
	require.Equal(t, "CONFLICT", r.Code(t))
	require.Equal(t, "username", r.Errors[0].Extensions["field"])

	var outboxRows int
	require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT count(*) FROM outbox").Scan(&outboxRows))
	require.Equal(t, 2, outboxRows, "only the successful sign-up wrote events (welcome, recipient)")
}

const loginMutation = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`

func TestLoginOneGenericError(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.register("bob")
	ok := e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "BOB@example.com", "p": testPassword}).NoErrors(t)
	require.Equal(t, s.ID, ok.Data["login"].(map[string]any)["user"].(map[string]any)["id"])

	wrong := e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "bob@example.com", "p": "wrong password!"})
	unknown := e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "nobody@example.com", "p": testPassword})
	require.Equal(t, "UNAUTHENTICATED", wrong.Code(t))
	require.Equal(t, "UNAUTHENTICATED", unknown.Code(t))
	require.Equal(t, wrong.Errors[0].Message, unknown.Errors[0].Message, "unknown e-mail and wrong password are indistinguishable")
	require.Nil(t, wrong.Data["login"])
}

const refreshMutation = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }`

func TestRefreshRotatesAndReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.register("carol")

	r1 := e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": s.Refresh}).NoErrors(t)
	rotated := r1.Data["refreshToken"].(map[string]any)
	require.NotEqual(t, s.Refresh, rotated["refreshToken"])
	newClaims := e.verifyAccessToken(rotated["accessToken"].(string))
	require.Equal(t, e.verifyAccessToken(s.Access).SessionID, newClaims.SessionID, "same session family")

	// The first token again: reuse. The family is revoked, the new token too.
	reuse := e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": s.Refresh})
	require.Equal(t, "UNAUTHENTICATED", reuse.Code(t))
	after := e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": rotated["refreshToken"]})
	require.Equal(t, "UNAUTHENTICATED", after.Code(t))

	// Access tokens of the family are deny-listed for the router.
	ttl, err := e.Redis.TTL(context.Background(), identity.DenySessionKey(newClaims.SessionID)).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 15*time.Minute+5*time.Second, "past the longest access token's life and the verifiers' leeway")

	garbage := e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": "not-a-token"})
	require.Equal(t, "UNAUTHENTICATED", garbage.Code(t))
}

func TestLogoutRevokesFamilyAndDenyListsAccessToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := e.register("dave")
	claims := e.verifyAccessToken(s.Access)

	r := e.Do(e.as(s.Access), `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": s.Refresh}).NoErrors(t)
	require.Equal(t, true, r.Data["logout"])

	ttl, err := e.Redis.TTL(context.Background(), identity.DenyTokenKey(claims.ID)).Result()
	require.NoError(t, err)
	// Deny-listed past the token's expiry plus the router's 5 s leeway.
	remaining := time.Until(claims.ExpiresAt.Time)
	require.Greater(t, ttl, remaining+5*time.Second, "jti deny-listed past the token's expiry and the verifiers' leeway")
	require.Greater(t, ttl, remaining+28*time.Second, "with a margin of 30 s (Redis counts whole seconds)")
	require.LessOrEqual(t, ttl, remaining+identity.DenyMargin+time.Second)
	exists, err := e.Redis.Exists(context.Background(), identity.DenySessionKey(claims.SessionID)).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, exists)

	again := e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": s.Refresh})
	require.Equal(t, "UNAUTHENTICATED", again.Code(t))

	// Someone else cannot log a user out with their token.
	victim := e.register("victim")
	other := e.register("other")
	r = e.Do(e.as(other.Access), `mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": victim.Refresh})
	require.Equal(t, "FORBIDDEN", r.Code(t))
}

const userFields = `id username email displayName roles profile { bio avatarUrl location website skills } createdAt`

func TestReadsAndEmailPrivacy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	bob := e.register("bob")
	staff := e.staff("root")

	me := e.Do(e.as(alice.Access), `{ me { `+userFields+` } }`, nil).NoErrors(t)
	require.Equal(t, "alice@example.com", me.Data["me"].(map[string]any)["email"])
	require.Nil(t, e.Do(e.Anonymous(), `{ me { id } }`, nil).NoErrors(t).Data["me"])

	q := `query($id: ID!) { user(id: $id) { ` + userFields + ` } }`
	asBob := e.Do(e.as(bob.Access), q, map[string]any{"id": alice.ID}).NoErrors(t)
	require.Nil(t, asBob.Data["user"].(map[string]any)["email"], "other users' e-mail hidden")
	anon := e.Do(e.Anonymous(), q, map[string]any{"id": alice.ID}).NoErrors(t)
	require.Nil(t, anon.Data["user"].(map[string]any)["email"])
	require.Equal(t, "alice", anon.Data["user"].(map[string]any)["username"])
	asStaff := e.Do(e.as(staff.Access), q, map[string]any{"id": alice.ID}).NoErrors(t)
	require.Equal(t, "alice@example.com", asStaff.Data["user"].(map[string]any)["email"])

	byName := e.Do(e.Anonymous(), `{ userByUsername(username: "bob") { id email } }`, nil).NoErrors(t)
	require.Equal(t, bob.ID, byName.Data["userByUsername"].(map[string]any)["id"])
	require.Nil(t, byName.Data["userByUsername"].(map[string]any)["email"])

	missing := e.Do(e.Anonymous(), q, map[string]any{"id": "00000000-0000-0000-0000-000000000000"}).NoErrors(t)
	require.Nil(t, missing.Data["user"])
	bad := e.Do(e.Anonymous(), q, map[string]any{"id": "not-a-uuid"})
	require.Equal(t, "BAD_USER_INPUT", bad.Code(t))
}

func TestUsersListIsStaffOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice", "FREELANCER")
	e.register("bob", "SELLER")
	e.register("bobby", "SELLER")
	staff := e.staff("root")

	q := `query($first: Int, $after: String, $search: String, $role: Role) {
	  users(first: $first, after: $after, search: $search, role: $role) {
	    edges { cursor node { username email } } pageInfo { hasNextPage endCursor } } }`
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), q, nil).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.as(alice.Access), q, nil).Code(t))

	var seen []string
	var after any
	for {
		r := e.Do(e.as(staff.Access), q, map[string]any{"first": 2, "after": after}).NoErrors(t)
		conn := r.Data["users"].(map[string]any)
		for _, edge := range conn["edges"].([]any) {
			node := edge.(map[string]any)["node"].(map[string]any)
			seen = append(seen, node["username"].(string))
			require.NotNil(t, node["email"], "STAFF sees e-mail")
		}
		page := conn["pageInfo"].(map[string]any)
		if !page["hasNextPage"].(bool) {
			break
		}
		after = page["endCursor"]
	}
	require.Equal(t, []string{"root", "bobby", "bob", "alice"}, seen, "newest first, every user once")

	sellers := e.Do(e.as(staff.Access), q, map[string]any{"role": "SELLER", "search": "bob"}).NoErrors(t)
	require.Len(t, sellers.Data["users"].(map[string]any)["edges"], 2)

	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(staff.Access), q, map[string]any{"first": 1000}).Code(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.as(staff.Access), q, map[string]any{"after": "garbage"}).Code(t))
}

func TestUpdateProfileInvalidatesCache(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	q := `query($id: ID!) { user(id: $id) { displayName profile { bio skills website } } }`
	e.Do(e.Anonymous(), q, map[string]any{"id": alice.ID}).NoErrors(t)
	exists, err := e.Redis.Exists(context.Background(), "users:user:"+alice.ID).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, exists, "profile read is cached")

	m := `mutation($in: UpdateProfileInput!) { updateProfile(input: $in) { displayName profile { bio skills website } } }`
	in := map[string]any{"displayName": "Alice A.", "bio": "Go and GraphQL", "skills": []string{"go", "graphql", "go"}, "website": "https://alice.example.com"}
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), m, map[string]any{"in": in}).Code(t))
	e.Do(e.as(alice.Access), m, map[string]any{"in": in}).NoErrors(t)

	// Twice: from the database (and back into the cache), then from the
	// cache, whose new text must not be answered with the old decoded profile.
	e.Do(e.Anonymous(), q, map[string]any{"id": alice.ID}).NoErrors(t)
	r := e.Do(e.Anonymous(), q, map[string]any{"id": alice.ID}).NoErrors(t)
	u := r.Data["user"].(map[string]any)
	require.Equal(t, "Alice A.", u["displayName"])
	require.Equal(t, "Go and GraphQL", u["profile"].(map[string]any)["bio"])
	require.Equal(t, []any{"go", "graphql"}, u["profile"].(map[string]any)["skills"])

	for field, value := range map[string]any{
		"website": "javascript:alert(1)", "bio": strings.Repeat("b", 2001), "displayName": "",
		"skills": []string{strings.Repeat("s", 51)},
	} {
		r := e.Do(e.as(alice.Access), m, map[string]any{"in": map[string]any{field: value}})
		require.Equal(t, "BAD_USER_INPUT", r.Code(t), field)
		require.Equal(t, field, r.Errors[0].Extensions["field"])
	}
}

func TestChangePasswordSignsOutOtherSessions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	current := e.register("erin")
	otherLogin := e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "erin@example.com", "p": testPassword}).NoErrors(t)
	other := otherLogin.Data["login"].(map[string]any)

	m := `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`
	wrong := e.Do(e.as(current.Access), m, map[string]any{"c": "not my password", "n": "a brand new password"})
	require.Equal(t, "BAD_USER_INPUT", wrong.Code(t))
	require.Equal(t, "currentPassword", wrong.Errors[0].Extensions["field"])
	weak := e.Do(e.as(current.Access), m, map[string]any{"c": testPassword, "n": "short"})
	require.Equal(t, "newPassword", weak.Errors[0].Extensions["field"])
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), m, map[string]any{"c": testPassword, "n": "a brand new password"}).Code(t))

	e.Do(e.as(current.Access), m, map[string]any{"c": testPassword, "n": "a brand new password"}).NoErrors(t)

	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": other["refreshToken"]}).Code(t),
		"the other session is signed out")
	otherSID := e.verifyAccessToken(other["accessToken"].(string)).SessionID
	exists, err := e.Redis.Exists(context.Background(), identity.DenySessionKey(otherSID)).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, exists, "the other session's access tokens are deny-listed")
	e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": current.Refresh}).NoErrors(t)

	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "erin@example.com", "p": testPassword}).Code(t))
	e.Do(e.Anonymous(), loginMutation, map[string]any{"e": "erin@example.com", "p": "a brand new password"}).NoErrors(t)
}

func TestGrantAndRevokeRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	staff := e.staff("root")
	grant := `mutation($id: ID!, $role: Role!) { grantRole(userId: $id, role: $role) { roles } }`
	revoke := `mutation($id: ID!, $role: Role!) { revokeRole(userId: $id, role: $role) { roles } }`

	require.Equal(t, "FORBIDDEN", e.Do(e.as(alice.Access), grant, map[string]any{"id": alice.ID, "role": "STAFF"}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), grant, map[string]any{"id": alice.ID, "role": "STAFF"}).Code(t))

	r := e.Do(e.as(staff.Access), grant, map[string]any{"id": alice.ID, "role": "MODERATOR"}).NoErrors(t)
	require.Equal(t, []any{"MODERATOR"}, r.Data["grantRole"].(map[string]any)["roles"])
	r = e.Do(e.as(staff.Access), grant, map[string]any{"id": alice.ID, "role": "MODERATOR"}).NoErrors(t)
	require.Equal(t, []any{"MODERATOR"}, r.Data["grantRole"].(map[string]any)["roles"], "granting twice is idempotent")
	// Revoking a role the user does not hold changes nothing, sessions included.
	r = e.Do(e.as(staff.Access), revoke, map[string]any{"id": alice.ID, "role": "SELLER"}).NoErrors(t)
	require.Equal(t, []any{"MODERATOR"}, r.Data["revokeRole"].(map[string]any)["roles"])
	sid := e.verifyAccessToken(alice.Access).SessionID
	exists, err := e.Redis.Exists(context.Background(), identity.DenySessionKey(sid)).Result()
	require.NoError(t, err)
	require.Zero(t, exists)

	// Revoking a held role ends every session at once: the tokens that
	// carry the old roles are refused from now on, not in 15 minutes.
	r = e.Do(e.as(staff.Access), revoke, map[string]any{"id": alice.ID, "role": "MODERATOR"}).NoErrors(t)
	require.Equal(t, []any{}, r.Data["revokeRole"].(map[string]any)["roles"])
	exists, err = e.Redis.Exists(context.Background(), identity.DenySessionKey(sid)).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, exists, "the session's access tokens are deny-listed")
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": alice.Refresh}).Code(t))

	require.Equal(t, "CONFLICT", e.Do(e.as(staff.Access), revoke, map[string]any{"id": staff.ID, "role": "STAFF"}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.as(staff.Access), grant, map[string]any{"id": "00000000-0000-0000-0000-000000000001", "role": "SELLER"}).Code(t))
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", e.Do(e.as(staff.Access), grant, map[string]any{"id": alice.ID, "role": "KING"}).Code(t), "an unknown enum value is invalid")
}

// TestRevokeRoleRacingNewTokens: a sign-in or refresh that mints a token
// while a revokeRole is under way either waits for it and carries the new
// roles, or lands in a session the revocation then ends: it never comes out
// with the old roles in a session nobody revokes. The test holds the user's
// row as a role change does, lets the sign-in (or refresh) and then the
// revocation queue up behind it, and releases them in that order, the one
// where an unlocked read of the roles would have escaped.
func TestRevokeRoleRacingNewTokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	staff := e.staff("root")
	grant := `mutation($id: ID!, $role: Role!) { grantRole(userId: $id, role: $role) { roles } }`
	revoke := `mutation($id: ID!, $role: Role!) { revokeRole(userId: $id, role: $role) { roles } }`
	ctx := context.Background()
	// waiting reports whether a statement matching pattern waits for a lock.
	waiting := func(pattern string) func() bool {
		return func() bool {
			var n int
			require.NoError(t, e.DB.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern).Scan(&n))
			return n > 0
		}
	}

	for _, tc := range []struct {
		name  string
		mints func(u session) subgraphtest.Response
		field string
	}{
		{"login", func(u session) subgraphtest.Response {
			return e.Do(e.Anonymous(), loginMutation, map[string]any{"e": u.Email, "p": testPassword})
		}, "login"},
		{"refresh", func(u session) subgraphtest.Response {
			return e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": u.Refresh})
		}, "refreshToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.register("racer_" + tc.name)
			e.Do(e.as(staff.Access), grant, map[string]any{"id": u.ID, "role": "MODERATOR"}).NoErrors(t)

			held, err := e.DB.Begin(ctx)
			require.NoError(t, err)
			// Released below; this only covers a test that stops before, and
			// afterwards returns pgx.ErrTxClosed.
			defer func() { _ = held.Rollback(ctx) }()
			_, err = held.Exec(ctx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", u.ID)
			require.NoError(t, err)

			minted := make(chan subgraphtest.Response, 1)
			go func() { minted <- tc.mints(u) }()
			require.Eventually(t, waiting("%FOR SHARE%"), 10*time.Second, 5*time.Millisecond,
				"the %s reads the roles under the lock a role change takes", tc.name)
			revoked := make(chan subgraphtest.Response, 1)
			go func() { revoked <- e.Do(e.as(staff.Access), revoke, map[string]any{"id": u.ID, "role": "MODERATOR"}) }()
			require.Eventually(t, waiting("%FOR UPDATE%"), 10*time.Second, 5*time.Millisecond)
			require.NoError(t, held.Rollback(ctx))

			r := (<-minted).NoErrors(t)
			require.Equal(t, []any{}, (<-revoked).NoErrors(t).Data["revokeRole"].(map[string]any)["roles"])
			payload := r.Data[tc.field].(map[string]any)
			claims := e.verifyAccessToken(payload["accessToken"].(string))
			if slices.Contains(claims.Roles, "MODERATOR") {
				exists, err := e.Redis.Exists(ctx, identity.DenySessionKey(claims.SessionID)).Result()
				require.NoError(t, err)
				require.EqualValues(t, 1, exists, "a token with the old roles is in a revoked session")
				require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), refreshMutation, map[string]any{"t": payload["refreshToken"]}).Code(t),
					"and its refresh token is revoked with it")
			}
		})
	}
}

func TestAssertionIsRequiredForIdentityAndFederation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	me := `{ me { id } }`

	require.Nil(t, e.Do(e.Direct(), me, nil).NoErrors(t).Data["me"], "no assertion: anonymous")

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	bad, err := identity.NewSigner(otherKey).Sign(identity.Principal{UserID: alice.ID}, "users")
	require.NoError(t, err)
	require.Nil(t, e.Do(subgraphtest.Caller{Assertion: bad}, me, nil).NoErrors(t).Data["me"], "forged assertion: anonymous")

	expired, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "supergraph-router", "aud": "supergraph-subgraphs", "uid": alice.ID,
		"iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix(),
	}).SignedString(e.RouterKey)
	require.NoError(t, err)
	require.Nil(t, e.Do(subgraphtest.Caller{Assertion: expired}, me, nil).NoErrors(t).Data["me"], "expired assertion: anonymous")

	require.Equal(t, alice.ID, e.Do(e.as(alice.Access), me, nil).NoErrors(t).Data["me"].(map[string]any)["id"])

	entities := `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`
	reps := map[string]any{"r": []any{
		map[string]any{"__typename": "User", "id": alice.ID},
		map[string]any{"__typename": "User", "id": "00000000-0000-0000-0000-000000000000"},
	}}
	require.Equal(t, "FORBIDDEN", e.Do(e.Direct(), entities, reps).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(subgraphtest.Caller{Assertion: bad}, entities, reps).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.Direct(), `{ _service { sdl } }`, nil).Code(t))

	ok := e.Do(e.Anonymous(), entities, reps).NoErrors(t)
	list := ok.Data["_entities"].([]any)
	require.Len(t, list, 2)
	require.Equal(t, "alice", list[0].(map[string]any)["username"])
	require.Nil(t, list[1], "unknown ids resolve to null, in order")
	sdl := e.Do(e.Anonymous(), `{ _service { sdl } }`, nil).NoErrors(t)
	require.Contains(t, sdl.Data["_service"].(map[string]any)["sdl"], "type User @key")
}

func TestHealthFollowsRedis(t *testing.T) {
	t.Parallel()
	e := setup(t)
	get := func() (int, map[string]any) {
		resp, err := http.Get(e.URL + "/api/health/")
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	code, body := get()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "healthy", body["status"])
	require.Equal(t, "user-service", body["service"])
	require.Equal(t, "connected", body["database"])
	require.Equal(t, "connected", body["redis"])
	_, err := time.Parse(time.RFC3339, body["timestamp"].(string))
	require.NoError(t, err)

	e.RedisServer.Stop()
	code, body = get()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "unhealthy", body["status"])
	require.Equal(t, "disconnected", body["redis"])
	require.Equal(t, "connected", body["database"])

	e.RedisServer.Restart()
	require.Eventually(t, func() bool { c, _ := get(); return c == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
}

func TestInternalErrorsAreOpaque(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	_, err := e.DB.Exec(context.Background(), "ALTER TABLE users RENAME TO users_gone")
	require.NoError(t, err)
	r := e.Do(e.Anonymous(), `{ userByUsername(username: "alice") { id } }`, nil)
	require.Equal(t, "INTERNAL_SERVER_ERROR", r.Code(t))
	require.Equal(t, "internal server error", r.Errors[0].Message)
	raw, _ := json.Marshal(r)
	require.NotContains(t, string(raw), "users", "no SQL or table names leak")
	require.NotContains(t, string(raw), "SQLSTATE")
	_ = alice
}

func TestKeyRotationKeepsOldTokensVerifiable(t *testing.T) {
	t.Parallel()
	_, oldKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, newKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	oldPEM, err := keys.EncodePrivate(oldKey)
	require.NoError(t, err)
	newPEM, err := keys.EncodePrivate(newKey)
	require.NoError(t, err)
	oldPub, err := keys.EncodePublic(oldKey.Public().(ed25519.PublicKey))
	require.NoError(t, err)

	before := setup(t, func(c *users.Config) { c.JWTSigningKey = string(oldPEM) })
	oldToken := before.register("alice").Access

	after := setup(t, func(c *users.Config) {
		c.JWTSigningKey = string(newPEM)
		c.JWTPreviousKeys = string(oldPub)
	})
	newToken := after.register("bob").Access
	require.NotEqual(t, tokenKID(t, oldToken), tokenKID(t, newToken))
	after.verifyAccessToken(oldToken) // still verifiable against the rotated JWKS
	after.verifyAccessToken(newToken)
}

func tokenKID(t *testing.T, token string) string {
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	require.NoError(t, err)
	return parsed.Header["kid"].(string)
}

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	log := slog.New(slog.DiscardHandler)
	for range 2 {
		require.NoError(t, users.Seed(context.Background(), e.app.Domain, "seed password 123", log))
	}
	var n int
	require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n))
	require.Equal(t, 5, n)
	r := e.Do(e.Anonymous(), `mutation { login(email: "admin@example.com", password: "seed password 123") { user { id roles } } }`, nil).NoErrors(t)
	require.Equal(t, []any{"STAFF"}, r.Data["login"].(map[string]any)["user"].(map[string]any)["roles"])
	require.Equal(t, demo.UserID(demo.Admin).String(), r.Data["login"].(map[string]any)["user"].(map[string]any)["id"],
		"demo ids are the ones other services' seeds reference")
}

func TestRecipientEventsFollowChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice", "SELLER")
	staff := e.staff("root")
	recipients := func() []tasks.NotificationRecipient {
		rows, err := e.DB.Query(context.Background(),
			"SELECT payload::text FROM outbox WHERE task_type = $1 ORDER BY created_at, id", tasks.TypeNotificationRecipient)
		require.NoError(t, err)
		defer rows.Close()
		var out []tasks.NotificationRecipient
		for rows.Next() {
			var raw string
			require.NoError(t, rows.Scan(&raw))
			var r tasks.NotificationRecipient
			require.NoError(t, tasks.Decode([]byte(raw), &r))
			if r.UserID == alice.ID {
				out = append(out, r)
			}
		}
		return out
	}
	got := recipients()
	require.Len(t, got, 1)
	require.Equal(t, "alice@example.com", got[0].Email)
	require.Equal(t, []string{"SELLER"}, got[0].Roles)

	e.Do(e.as(staff.Access), `mutation($id: ID!) { grantRole(userId: $id, role: MODERATOR) { id } }`, map[string]any{"id": alice.ID}).NoErrors(t)
	e.Do(e.as(alice.Access), `mutation { updateProfile(input: {displayName: "Alice Q."}) { id } }`, nil).NoErrors(t)
	e.Do(e.as(alice.Access), `mutation { updateProfile(input: {bio: "no recipient change"}) { id } }`, nil).NoErrors(t)
	got = recipients()
	require.Len(t, got, 3, "role and name changes publish; a bio change does not")
	require.Equal(t, []string{"SELLER", "MODERATOR"}, got[1].Roles)
	require.Equal(t, "Alice Q.", got[2].DisplayName)
	require.True(t, got[2].Version.After(got[0].Version), "versions order the events")
}

func TestConsumesPurgeTask(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.register("alice")
	_, err := e.DB.Exec(context.Background(),
		"UPDATE refresh_tokens SET expires_at = now() - interval '2 days' WHERE user_id = $1", alice.ID)
	require.NoError(t, err)
	e.register("bob") // a live token that must survive

	opt, err := redisx.AsynqOpt(e.RedisServer.URL(3))
	require.NoError(t, err)
	client := asynq.NewClient(opt)
	defer func() { require.NoError(t, client.Close()) }()
	_, err = client.Enqueue(asynq.NewTask(tasks.TypeUsersPurgeExpiredTokens, nil), asynq.Queue(tasks.QueueUsers))
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT count(*) FROM refresh_tokens").Scan(&n))
		return n
	}
	require.Eventually(t, func() bool { return count() == 1 }, 10*time.Second, 20*time.Millisecond)
}
