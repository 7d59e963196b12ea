package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/outbox"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
	"supergraph/worker"
)

func TestDeliverStoresPublishesMailsAndPushes(t *testing.T) {
	e := setup(t)
	ann := e.recipient("ann@example.com", "Ann")
	_, err := e.notify.RegisterDevice(context.Background(), as(ann), "ann-phone", "IOS")
	require.NoError(t, err)
	live := e.rdb.Subscribe(context.Background(), notify.Channel(ann))
	t.Cleanup(func() { require.NoError(t, live.Close()) })
	_, err = live.Receive(context.Background()) // the subscription is in effect
	require.NoError(t, err)
	e.start()

	id := e.deliver(ann, tasks.KindWelcome, "Welcome, Ann!")

	msg, err := live.ReceiveMessage(context.Background())
	require.NoError(t, err)
	require.Contains(t, msg.Payload, id, "published for live subscribers")

	m := e.waitMail("ann@example.com")
	require.Equal(t, "Welcome to Supergraph, Ann!", m.Subject)
	require.Contains(t, m.Text, "Body of Welcome, Ann!")
	require.Contains(t, m.Text, "http://localhost:8080/things/1", "links are absolute")
	require.Contains(t, m.HTML, "<h1>Welcome, Ann!</h1>")
	require.Equal(t, id+"@notifications.supergraph", m.MessageID)

	e.waitStatus(id, notify.StatusSent, notify.StatusSent)
	pushed := e.push.messages()
	require.Len(t, pushed, 1)
	require.Equal(t, "ann-phone", pushed[0].Token)
	require.Equal(t, "Welcome, Ann!", pushed[0].Title)
	require.True(t, e.push.sigOK, "requests carry the HMAC signature")
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications"))
}

func TestRecipientEventFeedsTheDirectory(t *testing.T) {
	e := setup(t)
	e.start()
	user := uuid.New()
	now := time.Now().UTC()
	ev := tasks.NotificationRecipient{UserID: user.String(), Email: "bo@example.com", Username: "bo", DisplayName: "Bo", Roles: []string{"SELLER"}, Version: now}
	e.enqueue(tasks.TypeNotificationRecipient, ev, uuid.NewString())
	// An older event arriving late changes nothing.
	old := ev
	old.Email, old.Version = "old@example.com", now.Add(-time.Minute)
	e.enqueue(tasks.TypeNotificationRecipient, old, uuid.NewString())
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM recipients WHERE user_id = $1 AND email = 'bo@example.com'", user) == 1 &&
			e.count("SELECT count(*) FROM recipients WHERE email = 'old@example.com'") == 0
	}, 10*time.Second, 10*time.Millisecond)

	// The users service's WELCOME may be handled before the directory
	// event: the e-mail waits for it (retries) instead of being lost.
	late := uuid.New()
	id := e.deliver(late, tasks.KindWelcome, "Welcome!")
	require.Eventually(t, func() bool {
		var errText *string
		_ = e.db.QueryRow(context.Background(), "SELECT email_error FROM notifications WHERE id = $1", id).Scan(&errText)
		return errText != nil && strings.Contains(*errText, "not in the directory")
	}, 10*time.Second, 10*time.Millisecond)
	e.enqueue(tasks.TypeNotificationRecipient, tasks.NotificationRecipient{
		UserID: late.String(), Email: "late@example.com", Username: "late", Version: now,
	}, uuid.NewString())
	require.Equal(t, "Welcome to Supergraph, late!", e.waitMail("late@example.com").Subject)
}

func TestPreferencesAndMutedKindsAreHonoured(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	cy := e.recipient("cy@example.com", "Cy")
	_, err := e.notify.RegisterDevice(ctx, as(cy), "cy-phone", "ANDROID")
	require.NoError(t, err)
	off := false
	_, err = e.notify.UpdatePreferences(ctx, as(cy), notify.PreferencesInput{Email: &off, MutedKinds: []string{tasks.KindOrderPlaced}})
	require.NoError(t, err)
	e.start()

	pushOnly := e.deliver(cy, tasks.KindCommentReply, "A reply")
	muted := e.deliver(cy, tasks.KindOrderPlaced, "An order")
	e.waitTask(tasks.QueueCritical, muted, asynq.TaskStateCompleted)
	e.waitStatus(pushOnly, notify.StatusSkipped, notify.StatusSent)
	email, p := e.status(muted)
	require.Equal(t, notify.StatusSkipped, email)
	require.Equal(t, notify.StatusSkipped, p)
	require.Equal(t, 0, e.count("SELECT count(*) FROM notifications WHERE id = $1 AND in_app", muted))

	pushed := e.push.messages()
	require.Len(t, pushed, 1)
	require.Equal(t, "A reply", pushed[0].Title)
	require.Zero(t, e.mailsTo("cy@example.com"))
	// Nothing was queued for the disabled channels either.
	_, err = e.insp.GetTaskInfo(tasks.QueueDefault, "email:"+pushOnly)
	require.ErrorIs(t, err, asynq.ErrTaskNotFound)
	_, err = e.insp.GetTaskInfo(tasks.QueueDefault, "push:"+muted)
	require.ErrorIs(t, err, asynq.ErrTaskNotFound)
}

func TestStoppedMidTaskDeliversExactlyOnceAfterRestart(t *testing.T) {
	e := setup(t, func(c *worker.Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	dee := e.recipient("dee@example.com", "Dee")
	stored := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	first := e.start(worker.Hooks{AfterStore: func(ctx context.Context, d notify.Delivery) error {
		close(stored)
		<-release // a worker killed here never acknowledges the task
		return errors.New("killed")
	}})
	id := e.deliver(dee, tasks.KindWelcome, "Welcome, Dee!")
	<-stored

	// The task was dequeued and the notification stored, but the worker
	// stops before finishing: past ShutdownTimeout asynq puts the task back.
	require.NoError(t, first.shutdown())
	info, err := e.insp.GetTaskInfo(tasks.QueueCritical, id)
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStatePending, info.State)

	e.start()
	e.waitTask(tasks.QueueCritical, id, asynq.TaskStateCompleted)
	e.waitMail("dee@example.com")
	e.waitTask(tasks.QueueDefault, "email:"+id, asynq.TaskStateCompleted)
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE id = $1", id))
	require.Equal(t, 1, e.mailsTo("dee@example.com"))
}

func TestGracefulShutdownFinishesTasksInFlight(t *testing.T) {
	e := setup(t)
	eve := e.recipient("eve@example.com", "Eve")
	stored := make(chan struct{})
	release := make(chan struct{})
	r := e.start(worker.Hooks{AfterStore: func(ctx context.Context, d notify.Delivery) error {
		close(stored)
		<-release
		return nil
	}})
	id := e.deliver(eve, tasks.KindWelcome, "Welcome, Eve!")
	<-stored
	stopped := make(chan error, 1)
	go func() { stopped <- r.shutdown() }()
	// Shutdown waits for the task in flight...
	select {
	case err := <-stopped:
		t.Fatalf("shutdown returned with a task in flight: %v", err)
	case <-time.After(100 * time.Millisecond): // showing that it waits: nothing else to wait on
	}
	close(release)
	require.NoError(t, <-stopped)
	// ...which completed, e-mail task queued for whoever runs next.
	require.Equal(t, asynq.TaskStateCompleted, e.waitTask(tasks.QueueCritical, id, asynq.TaskStateCompleted).State)
	_, err := e.insp.GetTaskInfo(tasks.QueueDefault, "email:"+id)
	require.NoError(t, err)
}

func TestSMTPDownRetriesThenArchives(t *testing.T) {
	// A port nobody listens on: the SMTP server is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	e := setup(t, func(c *worker.Config) { c.SMTP.Port = port; c.EmailMaxRetry = 2 })
	fay := e.recipient("fay@example.com", "Fay")
	r := e.start()

	id := e.deliver(fay, tasks.KindWelcome, "Welcome, Fay!")
	info := e.waitTask(tasks.QueueDefault, "email:"+id, asynq.TaskStateArchived)
	require.Equal(t, 2, info.Retried, "retried with backoff before archiving")
	require.Contains(t, info.LastErr, "smtp")
	e.waitStatus(id, notify.StatusFailed, notify.StatusSkipped)

	// Operators see it on the admin port with its error...
	var o struct {
		Queues []struct {
			Queue    string `json:"Queue"`
			Archived []struct {
				ID, Type, LastError string
			} `json:"archivedTasks"`
		} `json:"queues"`
	}
	resp, err := http.Get(r.url + "/monitor/api/overview")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&o))
	resp.Body.Close()
	var archived []string
	for _, q := range o.Queues {
		for _, a := range q.Archived {
			archived = append(archived, q.Queue+" "+a.Type+" "+a.ID)
			require.Contains(t, a.LastError, "smtp")
		}
	}
	require.Equal(t, []string{"default email:send email:" + id}, archived)

	// ...and once the mail server is back, run it again from there.
	back, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	go func() { _ = e.mail.Serve(back) }() // nil when the catcher closes; a failure to serve shows as the missing mail below
	resp, err = http.Post(r.url+"/monitor/queues/default/tasks/email:"+id+"/run", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "redirected to the page")
	require.Equal(t, "Welcome to Supergraph, Fay!", e.waitMail("fay@example.com").Subject)
	e.waitStatus(id, notify.StatusSent, notify.StatusSkipped)
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE id = $1", id), "never duplicated")
}

func TestMalformedPayloadsAreNotRetried(t *testing.T) {
	e := setup(t)
	e.start()
	e.enqueue(tasks.TypeNotificationDeliver, map[string]any{"event_id": "nope"}, "bad-1", asynq.MaxRetry(10))
	e.enqueue(tasks.TypeEmailSend, map[string]any{"notification_id": uuid.NewString(), "recipient_id": "x"}, "bad-2", asynq.MaxRetry(10))
	info := e.waitTask(tasks.QueueCritical, "bad-1", asynq.TaskStateArchived)
	require.Zero(t, info.Retried)
	info = e.waitTask(tasks.QueueDefault, "bad-2", asynq.TaskStateArchived)
	require.Zero(t, info.Retried, "a notification that does not exist can never be mailed")
}

func TestPushGoneDevicesAreForgottenAndFailuresRetried(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	gus := e.recipient("gus@example.com", "Gus")
	for _, tok := range []string{"gus-ok", "gus-gone", "gus-flaky"} {
		_, err := e.notify.RegisterDevice(ctx, as(gus), tok, "WEB")
		require.NoError(t, err)
	}
	e.push.answer("gus-gone", http.StatusGone)
	e.push.answer("gus-flaky", http.StatusServiceUnavailable)
	e.start()

	id := e.deliver(gus, tasks.KindReviewReceived, "A review")
	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM push_devices WHERE token = 'gus-gone'") == 0 &&
			e.count("SELECT count(*) FROM notifications WHERE id = $1 AND push_error LIKE '%503%'", id) == 1
	}, 10*time.Second, 10*time.Millisecond)
	e.push.answer("gus-flaky", http.StatusOK)
	e.waitStatus(id, notify.StatusSent, notify.StatusSent)
	perToken := map[string]int{}
	for _, m := range e.push.messages() {
		perToken[m.Token]++
	}
	require.Equal(t, 1, perToken["gus-ok"], "a retry goes only to the devices not reached")
	require.GreaterOrEqual(t, perToken["gus-flaky"], 2)
}

func TestBroadcastFansOutInBatches(t *testing.T) {
	e := setup(t, func(c *worker.Config) { c.BroadcastBatch = 2 })
	ctx := context.Background()
	var sellers []uuid.UUID
	for i := range 5 {
		sellers = append(sellers, e.recipient("seller"+string(rune('a'+i))+"@example.com", "S", "SELLER"))
	}
	buyer := e.recipient("buyer@example.com", "B", "FREELANCER")
	e.start()

	link := "/news"
	b, err := e.notify.RequestBroadcast(ctx, identity.Principal{UserID: uuid.NewString(), Roles: []string{"STAFF"}}, notify.BroadcastInput{Title: "Fees are changing", Body: "From May.", Link: &link, Role: ptr("SELLER")})
	require.NoError(t, err)
	// The subgraph's outbox relay hands the task to asynq.
	relay := outbox.NewRelay(e.db, e.client, e.rdb, e.log, outbox.RelayOptions{})
	sent, err := relay.SendDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, sent)

	require.Eventually(t, func() bool {
		return e.count("SELECT count(*) FROM broadcasts WHERE id = $1 AND completed_at IS NOT NULL", b.ID) == 1
	}, 15*time.Second, 10*time.Millisecond)
	require.Equal(t, 5, e.count("SELECT delivered FROM broadcasts WHERE id = $1", b.ID))
	for _, s := range sellers {
		require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE recipient_id = $1 AND kind = 'BROADCAST'", s))
	}
	require.Zero(t, e.count("SELECT count(*) FROM notifications WHERE recipient_id = $1", buyer))
	m := e.waitMail("sellerc@example.com")
	require.Equal(t, "[Supergraph] Fees are changing", m.Subject)
}

func ptr[T any](v T) *T { return &v }

func TestDigestAndPurge(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	hal := e.recipient("hal@example.com", "Hal")
	e.start()
	var ids []string
	for _, title := range []string{"one", "two", "three"} {
		ids = append(ids, e.deliver(hal, tasks.KindOrderPlaced, title))
	}
	for _, id := range ids {
		e.waitTask(tasks.QueueDefault, "email:"+id, asynq.TaskStateCompleted)
	}

	e.enqueue(worker.TypeDigest, nil, "digest-run-1", asynq.Queue(tasks.QueueLow))
	e.waitTask(tasks.QueueLow, "digest-run-1", asynq.TaskStateCompleted)
	// Twice on the same day (two schedulers, a rerun): one digest.
	e.enqueue(worker.TypeDigest, nil, "digest-run-2", asynq.Queue(tasks.QueueLow))
	e.waitTask(tasks.QueueLow, "digest-run-2", asynq.TaskStateCompleted)
	date := time.Now().UTC().Format(time.DateOnly)
	e.waitTask(tasks.QueueLow, "digest:"+hal.String()+":"+date, asynq.TaskStateCompleted)
	var digests []string
	for _, m := range e.mail.Messages() {
		if strings.HasPrefix(m.Subject, "You have") {
			digests = append(digests, m.Subject)
			require.Contains(t, m.Text, "- three (http://localhost:8080/things/1)")
		}
	}
	require.Equal(t, []string{"You have 3 unread notifications"}, digests)

	// Purge: read long ago goes, unread and recently read stay.
	_, err := e.db.Exec(ctx, "UPDATE notifications SET read_at = now() - interval '40 days' WHERE id = $1", ids[0])
	require.NoError(t, err)
	_, err = e.db.Exec(ctx, "UPDATE notifications SET read_at = now() WHERE id = $1", ids[1])
	require.NoError(t, err)
	e.enqueue(worker.TypePurge, nil, "purge-1", asynq.Queue(tasks.QueueLow))
	e.waitTask(tasks.QueueLow, "purge-1", asynq.TaskStateCompleted)
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications"))
	require.Zero(t, e.count("SELECT count(*) FROM notifications WHERE id = $1", ids[0]))
}

func TestSchedulerAndAdminPort(t *testing.T) {
	e := setup(t, func(c *worker.Config) { c.Scheduler = true })
	r := e.start()
	require.Eventually(t, func() bool {
		entries, err := e.insp.SchedulerEntries()
		if err != nil || len(entries) < 4 {
			return false
		}
		queues := map[string]string{}
		for _, en := range entries {
			queues[en.Task.Type()] = en.Spec
		}
		return queues[worker.TypeDigest] == "0 8 * * *" && queues[worker.TypePurge] != "" &&
			queues[tasks.TypeUsersPurgeExpiredTokens] != "" && queues[tasks.TypeFreelanceAutoCompleteOrders] == "*/10 * * * *"
	}, 10*time.Second, 20*time.Millisecond)

	resp, err := http.Get(r.url + "/api/health/")
	require.NoError(t, err)
	var health map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&health))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "healthy", health["status"])

	resp, err = http.Get(r.url + "/monitor/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), "<code>0 8 * * *</code>")
	require.Contains(t, string(page), tasks.TypeUsersPurgeExpiredTokens)
}

// as is the principal of a signed-in user, for the domain's caller-checked calls.
func as(user uuid.UUID) identity.Principal { return identity.Principal{UserID: user.String()} }
