package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"supergraph/platform/apperr"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
	"supergraph/worker/push"
)

// Mux routes every task type the worker consumes to its handler.
func (w *Worker) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeNotificationDeliver, w.handleDeliver)
	mux.HandleFunc(tasks.TypeEmailSend, w.handleEmail)
	mux.HandleFunc(tasks.TypePushSend, w.handlePush)
	mux.HandleFunc(tasks.TypeNotificationRecipient, w.handleRecipient)
	mux.HandleFunc(notify.TypeBroadcast, w.handleBroadcast)
	mux.HandleFunc(TypeDigest, w.handleDigest)
	mux.HandleFunc(TypeEmailDigest, w.handleEmailDigest)
	mux.HandleFunc(TypePurge, w.handlePurge)
	return mux
}

// final wraps errors that retrying cannot fix (a malformed payload, a 5xx
// from SMTP) with asynq.SkipRetry: the task goes straight to the archive.
func final(err error) error {
	if errors.Is(err, tasks.ErrInvalidPayload) || errors.Is(err, errPermanent) || errors.Is(err, push.ErrRejected) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// lastAttempt reports whether a failure now archives the task.
func lastAttempt(ctx context.Context) bool {
	retried, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= maxRetry
}

// taskRetention keeps a finished task's id in Redis for a day, so a task
// enqueued again under the same id (a retried handler's follow-ups) is
// refused as a duplicate instead of running twice.
const taskRetention = 24 * time.Hour

// enqueue adds a follow-up task under a deterministic id: a handler that
// runs again after a crash enqueues nothing twice.
func (w *Worker) enqueue(ctx context.Context, taskType string, payload any, id string, opts ...asynq.Option) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	opts = append([]asynq.Option{asynq.TaskID(id), asynq.Queue(tasks.QueueFor(taskType)), asynq.Retention(taskRetention)}, opts...)
	_, err = w.client.EnqueueContext(ctx, asynq.NewTask(taskType, body), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s %s: %w", taskType, id, err)
	}
	return nil
}

func (w *Worker) handleDeliver(ctx context.Context, t *asynq.Task) error {
	var p tasks.NotificationDeliver
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	d, err := w.notify.Deliver(ctx, p)
	if err != nil {
		return final(err)
	}
	if w.Hooks.AfterStore != nil {
		if err := w.Hooks.AfterStore(ctx, d); err != nil {
			return err
		}
	}
	return w.fanOut(ctx, d)
}

// fanOut enqueues the e-mail and push tasks a delivery still needs.
func (w *Worker) fanOut(ctx context.Context, d notify.Delivery) error {
	n := d.Notification
	if d.WantsEmail() {
		err := w.enqueue(ctx, tasks.TypeEmailSend, tasks.EmailSend{NotificationID: n.ID.String(), RecipientID: n.RecipientID.String()},
			"email:"+n.ID.String(), asynq.MaxRetry(w.cfg.EmailMaxRetry))
		if err != nil {
			return err
		}
	}
	if d.WantsPush() {
		err := w.enqueue(ctx, tasks.TypePushSend, tasks.PushSend{NotificationID: n.ID.String(), RecipientID: n.RecipientID.String()},
			"push:"+n.ID.String(), asynq.MaxRetry(w.cfg.PushMaxRetry))
		if err != nil {
			return err
		}
	}
	return nil
}

// notification loads the stored notification a channel task is about. A
// missing one (purged meanwhile) can never be sent.
func (w *Worker) notification(ctx context.Context, id string) (notify.Notification, error) {
	n, err := w.notify.Notification(ctx, uuid.MustParse(id)) // validated by Decode
	if errors.Is(err, apperr.ErrNotFound) {
		return n, fmt.Errorf("%w: notification %s does not exist", tasks.ErrInvalidPayload, id)
	}
	return n, err
}

// errText is err's message for a status column, cut to 2000 bytes without
// splitting a character (PostgreSQL rejects invalid UTF-8).
func errText(err error) *string {
	s := err.Error()
	if len(s) > 2000 {
		s = strings.ToValidUTF8(s[:2000], "")
	}
	return &s
}

func displayName(r notify.Recipient) string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.Username
}

func (w *Worker) handleEmail(ctx context.Context, t *asynq.Task) error {
	var p tasks.EmailSend
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	n, err := w.notification(ctx, p.NotificationID)
	if err != nil {
		return final(err)
	}
	if n.EmailStatus == notify.StatusSent || n.EmailStatus == notify.StatusSkipped {
		return nil // done before this (re)delivery of the task
	}
	r, found, err := w.notify.Recipient(ctx, n.RecipientID)
	if err != nil {
		return err
	}
	if !found {
		// The users service's directory event may still be on its way.
		return w.emailFailed(ctx, n.ID, fmt.Errorf("recipient %s: %w", n.RecipientID, errNotInDirectoryYet))
	}
	if r.Deleted || r.Email == "" {
		return w.notify.SetEmailStatus(ctx, n.ID, notify.StatusSkipped, errText(errors.New("no e-mail address")))
	}
	var data map[string]any
	_ = json.Unmarshal(n.Data, &data)
	link := ""
	if n.Link != nil {
		link = *n.Link
	}
	subject, text, html, err := w.mailer.Render(MailData{
		Name: displayName(r), Kind: n.Kind, Title: n.Title, Body: n.Body, Link: w.mailer.Absolute(link), Data: data,
	})
	if err != nil {
		return w.emailFailed(ctx, n.ID, fmt.Errorf("%w: %w", errPermanent, err))
	}
	err = w.mailer.Send(ctx, Email{
		To: r.Email, ToName: displayName(r), Subject: subject, Text: text, HTML: html,
		MessageID: n.ID.String() + "@notifications.supergraph",
	})
	if err != nil {
		return w.emailFailed(ctx, n.ID, err)
	}
	return w.notify.SetEmailStatus(ctx, n.ID, notify.StatusSent, nil)
}

// emailFailed records the failure on the notification (FAILED once the task
// will not be retried, else still QUEUED with the error for operators) and
// returns the error for asynq.
// errNotInDirectoryYet is an e-mail whose recipient's directory entry (an
// event of the users service) has not arrived yet: expected right after a
// sign-up, and cured by a retry.
var errNotInDirectoryYet = errors.New("not in the directory yet")

func (w *Worker) emailFailed(ctx context.Context, id uuid.UUID, cause error) error {
	cause = final(cause)
	status := notify.StatusQueued
	if errors.Is(cause, asynq.SkipRetry) || lastAttempt(ctx) {
		status = notify.StatusFailed
	}
	if err := w.notify.SetEmailStatus(ctx, id, status, errText(cause)); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func (w *Worker) handlePush(ctx context.Context, t *asynq.Task) error {
	var p tasks.PushSend
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	n, err := w.notification(ctx, p.NotificationID)
	if err != nil {
		return final(err)
	}
	if n.PushStatus == notify.StatusSent || n.PushStatus == notify.StatusSkipped {
		return nil
	}
	setStatus := func(status string, cause error) error {
		var msg *string
		if cause != nil {
			msg = errText(cause)
		}
		return w.notify.SetPushStatus(ctx, n.ID, status, msg)
	}
	if w.push == nil {
		return setStatus(notify.StatusSkipped, errors.New("no push provider configured"))
	}
	devices, err := w.notify.PendingDevices(ctx, n)
	if err != nil {
		return err
	}
	if len(devices) == 0 {
		all, err := w.notify.Devices(ctx, n.RecipientID)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			return setStatus(notify.StatusSkipped, errors.New("no registered devices"))
		}
		return setStatus(notify.StatusSent, nil) // reached them all on earlier attempts
	}
	var data map[string]any
	_ = json.Unmarshal(n.Data, &data)
	link := ""
	if n.Link != nil {
		link = *n.Link
	}
	var retry, rejected error
	for _, d := range devices {
		err := w.push.Send(ctx, push.Message{
			NotificationID: n.ID.String(), Token: d.Token, Platform: d.Platform, Kind: n.Kind,
			Title: n.Title, Body: n.Body, Link: link, Data: data,
		})
		switch {
		case err == nil:
			err = w.notify.MarkPushDelivered(ctx, n.ID, d.ID)
		case errors.Is(err, push.ErrGone):
			// The app is gone from the device: forget it, do not retry.
			err = w.notify.ForgetDevice(ctx, d.ID)
		case errors.Is(err, push.ErrRejected):
			rejected, err = errors.Join(rejected, err), nil
		default:
			retry = errors.Join(retry, err)
			err = nil
		}
		if err != nil {
			return err
		}
	}
	switch {
	case retry != nil && !lastAttempt(ctx):
		// Devices reached are recorded; the retry goes to the others only.
		if err := setStatus(notify.StatusQueued, retry); err != nil {
			return errors.Join(retry, err)
		}
		return retry
	case retry != nil:
		return errors.Join(setStatus(notify.StatusFailed, retry), retry)
	case rejected != nil:
		return setStatus(notify.StatusFailed, rejected)
	}
	return setStatus(notify.StatusSent, nil)
}

func (w *Worker) handleRecipient(ctx context.Context, t *asynq.Task) error {
	var p tasks.NotificationRecipient
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	return final(w.notify.ApplyRecipient(ctx, p))
}

func (w *Worker) handleBroadcast(ctx context.Context, t *asynq.Task) error {
	var p notify.BroadcastBatch
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	deliveries, next, err := w.notify.BroadcastStep(ctx, p, w.cfg.BroadcastBatch)
	if err != nil {
		return final(err)
	}
	for _, d := range deliveries {
		if err := w.fanOut(ctx, d); err != nil {
			return err
		}
	}
	if next == nil {
		return nil
	}
	// The next batch is its own task: a failure retries one batch, and the
	// low queue lets interactive work through between batches.
	return w.enqueue(ctx, notify.TypeBroadcast, next, next.BroadcastID+":"+next.AfterUser, asynq.Queue(tasks.QueueLow))
}
