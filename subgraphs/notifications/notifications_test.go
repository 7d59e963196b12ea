package notifications_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications"
	"supergraph/subgraphs/notifications/notify"
)

const meQuery = `query($id: ID!, $first: Int, $after: String, $unread: Boolean) {
  _entities(representations: [{__typename: "User", id: $id}]) {
    ... on User {
      notifications(first: $first, after: $after, unreadOnly: $unread) {
        edges { cursor node { id kind title body link data readAt createdAt recipient { id } emailStatus pushStatus } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
      unreadNotificationCount
    }
  }
}`

func entity(r map[string]any) map[string]any {
	return r["_entities"].([]any)[0].(map[string]any)
}

func titles(conn map[string]any) []string {
	var out []string
	for _, e := range conn["edges"].([]any) {
		out = append(out, e.(map[string]any)["node"].(map[string]any)["title"].(string))
	}
	return out
}

func TestListPagingAndUnread(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	first := e.deliver(me, tasks.KindWelcome, "one")
	e.deliver(me, tasks.KindOrderPlaced, "two")
	e.deliver(me, tasks.KindOrderPlaced, "three")
	e.deliver(other, tasks.KindWelcome, "not mine")

	r := e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String(), "first": 2}).NoErrors(t)
	u := entity(r.Data)
	conn := u["notifications"].(map[string]any)
	require.Equal(t, []string{"three", "two"}, titles(conn))
	require.EqualValues(t, 3, u["unreadNotificationCount"])
	page := conn["pageInfo"].(map[string]any)
	require.Equal(t, true, page["hasNextPage"])
	node := conn["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	require.Equal(t, map[string]any{"n": float64(1)}, node["data"])
	require.Equal(t, me.String(), node["recipient"].(map[string]any)["id"])
	require.Equal(t, "QUEUED", node["emailStatus"])

	r = e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String(), "first": 2, "after": page["endCursor"]}).NoErrors(t)
	conn = entity(r.Data)["notifications"].(map[string]any)
	require.Equal(t, []string{"one"}, titles(conn))
	require.Equal(t, false, conn["pageInfo"].(map[string]any)["hasNextPage"])
	require.Equal(t, true, conn["pageInfo"].(map[string]any)["hasPreviousPage"])

	// Mark one read: own only.
	mark := `mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }`
	r = e.Do(e.User(me.String()), mark, map[string]any{"id": first.Notification.ID.String()}).NoErrors(t)
	require.NotNil(t, r.Data["markNotificationRead"].(map[string]any)["readAt"])
	require.Equal(t, "FORBIDDEN", e.Do(e.User(other.String()), mark, map[string]any{"id": first.Notification.ID.String()}).Code(t))
	require.Equal(t, "NOT_FOUND", e.Do(e.User(me.String()), mark, map[string]any{"id": uuid.NewString()}).Code(t))
	require.Equal(t, "BAD_USER_INPUT", e.Do(e.User(me.String()), mark, map[string]any{"id": "nope"}).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), mark, map[string]any{"id": first.Notification.ID.String()}).Code(t))

	r = e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String(), "unread": true}).NoErrors(t)
	require.Equal(t, []string{"three", "two"}, titles(entity(r.Data)["notifications"].(map[string]any)))
	require.EqualValues(t, 2, entity(r.Data)["unreadNotificationCount"])

	r = e.Do(e.User(me.String()), `mutation { markAllNotificationsRead }`, nil).NoErrors(t)
	require.EqualValues(t, 2, r.Data["markAllNotificationsRead"])
	r = e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String()}).NoErrors(t)
	require.EqualValues(t, 0, entity(r.Data)["unreadNotificationCount"])
	// The other user's notification was untouched.
	r = e.Do(e.User(other.String()), meQuery, map[string]any{"id": other.String()}).NoErrors(t)
	require.EqualValues(t, 1, entity(r.Data)["unreadNotificationCount"])
}

func TestPrivateFieldsAreSelfOnly(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	e.deliver(me, tasks.KindWelcome, "hello")
	q := `query($id: ID!) { _entities(representations: [{__typename: "User", id: $id}]) { ... on User { id notificationPreferences { email } } } }`
	for name, c := range map[string]struct {
		caller identity.Principal
		code   string
	}{
		"someone else": {identity.Principal{UserID: other.String()}, "FORBIDDEN"},
		"staff":        {identity.Principal{UserID: other.String(), Roles: []string{identity.RoleStaff}}, "FORBIDDEN"},
		"anonymous":    {identity.Principal{}, "UNAUTHENTICATED"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Do(e.As(c.caller), q, map[string]any{"id": me.String()})
			require.Equal(t, c.code, r.Code(t))
			// The refused field nulls itself, not the user.
			require.Equal(t, me.String(), entity(r.Data)["id"])
			r = e.Do(e.As(c.caller), meQuery, map[string]any{"id": me.String()})
			require.NotEmpty(t, r.Errors)
			require.Nil(t, entity(r.Data)["notifications"])
		})
	}
	// _entities is refused without the router's assertion.
	r := e.Do(e.Direct(), q, map[string]any{"id": me.String()})
	require.Equal(t, "FORBIDDEN", r.Code(t))
}

func TestNotificationEntityAndQuery(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	n := e.deliver(me, tasks.KindWelcome, "hello").Notification
	q := `query($id: ID!) { _entities(representations: [{__typename: "Notification", id: $id}]) { ... on Notification { id title } } }`
	r := e.Do(e.User(me.String()), q, map[string]any{"id": n.ID.String()}).NoErrors(t)
	require.Equal(t, "hello", entity(r.Data)["title"])
	r = e.Do(e.User(other.String()), q, map[string]any{"id": n.ID.String()}).NoErrors(t)
	require.Nil(t, r.Data["_entities"].([]any)[0])

	one := `query($id: ID!) { notification(id: $id) { id title } }`
	r = e.Do(e.User(me.String()), one, map[string]any{"id": n.ID.String()}).NoErrors(t)
	require.Equal(t, "hello", r.Data["notification"].(map[string]any)["title"])
	r = e.Do(e.User(other.String()), one, map[string]any{"id": n.ID.String()}).NoErrors(t)
	require.Nil(t, r.Data["notification"])
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), one, map[string]any{"id": n.ID.String()}).Code(t))
}

func TestDeliverIsIdempotent(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	ev := event(me, tasks.KindWelcome, "once")
	ctx := context.Background()
	d1, err := e.app.Domain.Deliver(ctx, ev)
	require.NoError(t, err)
	require.True(t, d1.Created)
	d2, err := e.app.Domain.Deliver(ctx, ev)
	require.NoError(t, err)
	require.False(t, d2.Created)
	require.Equal(t, d1.Notification.ID, d2.Notification.ID)
	var rows int
	require.NoError(t, e.DB.QueryRow(ctx, "SELECT count(*) FROM notifications WHERE id = $1", d1.Notification.ID).Scan(&rows))
	require.Equal(t, 1, rows)

	bad := ev
	bad.EventID = "not-a-uuid"
	_, err = e.app.Domain.Deliver(ctx, bad)
	require.ErrorIs(t, err, tasks.ErrInvalidPayload)
}

const prefsMutation = `mutation($in: NotificationPreferencesInput!) {
  updateNotificationPreferences(input: $in) { email inApp push mutedKinds }
}`

func TestPreferences(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	q := `query($id: ID!) { _entities(representations: [{__typename: "User", id: $id}]) { ... on User { notificationPreferences { email inApp push mutedKinds } } } }`
	r := e.Do(e.User(me.String()), q, map[string]any{"id": me.String()}).NoErrors(t)
	require.Equal(t, map[string]any{"email": true, "inApp": true, "push": true, "mutedKinds": []any{}},
		entity(r.Data)["notificationPreferences"])

	r = e.Do(e.User(me.String()), prefsMutation, map[string]any{"in": map[string]any{"email": false, "mutedKinds": []string{"order_placed", "ORDER_PLACED", "COMMENT_REPLY"}}}).NoErrors(t)
	require.Equal(t, map[string]any{"email": false, "inApp": true, "push": true, "mutedKinds": []any{"COMMENT_REPLY", "ORDER_PLACED"}},
		r.Data["updateNotificationPreferences"])
	// A partial update keeps the rest.
	r = e.Do(e.User(me.String()), prefsMutation, map[string]any{"in": map[string]any{"push": false}}).NoErrors(t)
	require.Equal(t, map[string]any{"email": false, "inApp": true, "push": false, "mutedKinds": []any{"COMMENT_REPLY", "ORDER_PLACED"}},
		r.Data["updateNotificationPreferences"])

	r = e.Do(e.User(me.String()), prefsMutation, map[string]any{"in": map[string]any{"mutedKinds": []string{"not a kind"}}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "mutedKinds", r.Field(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), prefsMutation, map[string]any{"in": map[string]any{"push": true}}).Code(t))
}

func TestPreferencesDecideChannels(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	ctx := context.Background()
	_, err := e.app.Domain.UpdatePreferences(ctx, identity.Principal{UserID: me.String()}, notify.PreferencesInput{Email: ptr(false), MutedKinds: []string{tasks.KindOrderPlaced}})
	require.NoError(t, err)

	d := e.deliver(me, tasks.KindWelcome, "shown")
	require.True(t, d.Notification.InApp)
	require.False(t, d.WantsEmail(), "e-mail is off")
	require.True(t, d.WantsPush())

	d = e.deliver(me, tasks.KindOrderPlaced, "muted")
	require.False(t, d.Notification.InApp)
	require.False(t, d.WantsEmail())
	require.False(t, d.WantsPush())

	_, err = e.app.Domain.UpdatePreferences(ctx, identity.Principal{UserID: me.String()}, notify.PreferencesInput{InApp: ptr(false)})
	require.NoError(t, err)
	d = e.deliver(me, tasks.KindCommentReply, "not in-app")
	require.False(t, d.Notification.InApp)
	require.True(t, d.WantsPush())

	r := e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String()}).NoErrors(t)
	require.Equal(t, []string{"shown"}, titles(entity(r.Data)["notifications"].(map[string]any)))
	require.EqualValues(t, 1, entity(r.Data)["unreadNotificationCount"])
}

func ptr[T any](v T) *T { return &v }

func TestPushDevices(t *testing.T) {
	e := setup(t)
	me, other := uuid.New(), uuid.New()
	register := `mutation($t: String!, $p: PushPlatform!) { registerPushDevice(token: $t, platform: $p) { id token platform createdAt } }`
	unregister := `mutation($t: String!) { unregisterPushDevice(token: $t) }`
	list := `query($id: ID!) { _entities(representations: [{__typename: "User", id: $id}]) { ... on User { pushDevices { token platform } } } }`

	e.Do(e.User(me.String()), register, map[string]any{"t": "tok-1", "p": "IOS"}).NoErrors(t)
	e.Do(e.User(me.String()), register, map[string]any{"t": "tok-2", "p": "WEB"}).NoErrors(t)
	r := e.Do(e.User(me.String()), list, map[string]any{"id": me.String()}).NoErrors(t)
	require.Len(t, entity(r.Data)["pushDevices"], 2)

	// Someone else who learnt the token cannot take it over: my pushes stay mine.
	r = e.Do(e.User(other.String()), register, map[string]any{"t": "tok-1", "p": "ANDROID"})
	require.Equal(t, "CONFLICT", r.Code(t))
	r = e.Do(e.User(me.String()), list, map[string]any{"id": me.String()}).NoErrors(t)
	require.ElementsMatch(t, []any{map[string]any{"token": "tok-1", "platform": "IOS"}, map[string]any{"token": "tok-2", "platform": "WEB"}}, entity(r.Data)["pushDevices"])
	// Re-registering my own token updates it.
	e.Do(e.User(me.String()), register, map[string]any{"t": "tok-1", "p": "ANDROID"}).NoErrors(t)

	r = e.Do(e.User(other.String()), unregister, map[string]any{"t": "tok-1"}).NoErrors(t)
	require.Equal(t, false, r.Data["unregisterPushDevice"], "tok-1 is not the other user's")
	r = e.Do(e.User(me.String()), unregister, map[string]any{"t": "tok-1"}).NoErrors(t)
	require.Equal(t, true, r.Data["unregisterPushDevice"])
	// Once I unregistered it (signing out on that device), it can be theirs.
	e.Do(e.User(other.String()), register, map[string]any{"t": "tok-1", "p": "ANDROID"}).NoErrors(t)
	r = e.Do(e.User(me.String()), unregister, map[string]any{"t": "tok-2"}).NoErrors(t)
	require.Equal(t, true, r.Data["unregisterPushDevice"])

	r = e.Do(e.User(me.String()), register, map[string]any{"t": "  ", "p": "IOS"})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "token", r.Field(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), register, map[string]any{"t": "x", "p": "IOS"}).Code(t))
	require.Equal(t, "FORBIDDEN", e.Do(e.User(other.String()), list, map[string]any{"id": me.String()}).Code(t))
}

func TestBroadcastIsStaffOnlyAndGoesThroughTheOutbox(t *testing.T) {
	e := setup(t)
	broadcast := `mutation($in: BroadcastInput!) { broadcastNotification(input: $in) { id title role createdAt } }`
	in := map[string]any{"in": map[string]any{"title": "Maintenance tonight", "body": "22:00 UTC", "role": "SELLER"}}
	require.Equal(t, "FORBIDDEN", e.Do(e.User(uuid.NewString()), broadcast, in).Code(t))
	require.Equal(t, "UNAUTHENTICATED", e.Do(e.Anonymous(), broadcast, in).Code(t))

	staff := e.User(uuid.NewString(), identity.RoleStaff)
	r := e.Do(staff, broadcast, in).NoErrors(t)
	b := r.Data["broadcastNotification"].(map[string]any)
	require.Equal(t, "SELLER", b["role"])

	var taskType, queue string
	require.NoError(t, e.DB.QueryRow(context.Background(), "SELECT task_type, queue FROM outbox WHERE id = $1", b["id"]).Scan(&taskType, &queue))
	require.Equal(t, notify.TypeBroadcast, taskType)
	require.Equal(t, tasks.QueueLow, queue)

	r = e.Do(staff, broadcast, map[string]any{"in": map[string]any{"title": " "}})
	require.Equal(t, "BAD_USER_INPUT", r.Code(t))
	require.Equal(t, "title", r.Field(t))
}

func TestSeedIsIdempotent(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	require.NoError(t, notifications.Seed(ctx, e.app.Domain, e.Log))
	require.NoError(t, notifications.Seed(ctx, e.app.Domain, e.Log))
	var total, unread, queued int
	require.NoError(t, e.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE read_at IS NULL),
		count(*) FILTER (WHERE email_status = 'QUEUED' OR push_status = 'QUEUED') FROM notifications`).Scan(&total, &unread, &queued))
	require.Equal(t, 10, total)
	require.Equal(t, 5, unread)
	require.Zero(t, queued)
}

// TestNoNPlusOne counts the SQL statements behind entity batches and a
// user's list: one per batch or list, however many items.
func TestNoNPlusOne(t *testing.T) {
	e := setup(t)
	me := uuid.New()
	var reps []map[string]any
	for i := range 25 {
		n := e.deliver(me, tasks.KindOrderPlaced, fmt.Sprint("n", i)).Notification
		reps = append(reps, map[string]any{"__typename": "Notification", "id": n.ID.String()})
	}
	q := `query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id title recipient { id } } } }`
	e.statements.Reset()
	r := e.Do(e.User(me.String()), q, map[string]any{"r": reps}).NoErrors(t)
	require.Len(t, r.Data["_entities"], 25)
	require.EqualValues(t, 1, e.statements.Count(), "one query for a batch of entities")

	e.statements.Reset()
	r = e.Do(e.User(me.String()), meQuery, map[string]any{"id": me.String(), "first": 25}).NoErrors(t)
	require.Len(t, entity(r.Data)["notifications"].(map[string]any)["edges"], 25)
	require.EqualValues(t, 2, e.statements.Count(), "the page and the unread count")
}
