package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
)

// Periodic and digest task types; only the worker produces and consumes them.
const (
	// TypeDigest finds the users owed a daily digest and queues one
	// TypeEmailDigest each. Empty payload.
	TypeDigest = "notification:digest"
	// TypeEmailDigest sends one user's digest. Payload: EmailDigest.
	TypeEmailDigest = "email:digest"
	// TypePurge deletes read notifications older than PURGE_READ_AFTER.
	TypePurge = "notification:purge"
)

// EmailDigest is the payload of TypeEmailDigest.
type EmailDigest struct {
	UserID string `json:"user_id"`
	// Date (YYYY-MM-DD, UTC) names the digest: one per user per day.
	Date string `json:"date"`
}

// Validate reports why the payload can never be sent.
func (e EmailDigest) Validate() error {
	_, errUser := uuid.Parse(e.UserID)
	_, errDate := time.Parse(time.DateOnly, e.Date)
	if errUser != nil || errDate != nil {
		return fmt.Errorf("%w: %s: user_id must be a UUID and date YYYY-MM-DD", tasks.ErrInvalidPayload, TypeEmailDigest)
	}
	return nil
}

// registerSchedule registers the periodic jobs. Every worker replica runs a
// scheduler; the tasks are unique for a while and their handlers idempotent,
// so replicas enqueueing the same tick do no harm.
func (w *Worker) registerSchedule() error {
	entries := []struct {
		spec string
		task *asynq.Task
		opts []asynq.Option
	}{
		{w.cfg.DigestCron, asynq.NewTask(TypeDigest, nil), []asynq.Option{asynq.Queue(tasks.QueueLow), asynq.Unique(time.Hour)}},
		{w.cfg.PurgeCron, asynq.NewTask(TypePurge, nil), []asynq.Option{asynq.Queue(tasks.QueueLow), asynq.Unique(time.Hour)}},
		// The users service consumes its own queue: the worker never
		// touches another service's tables.
		{w.cfg.TokenPurgeCron, asynq.NewTask(tasks.TypeUsersPurgeExpiredTokens, nil),
			[]asynq.Option{asynq.Queue(tasks.QueueUsers), asynq.Unique(30 * time.Minute), asynq.MaxRetry(3)}},
		{w.cfg.AutoCompleteCron, asynq.NewTask(tasks.TypeFreelanceAutoCompleteOrders, nil),
			[]asynq.Option{asynq.Queue(tasks.QueueFreelance), asynq.Unique(5 * time.Minute), asynq.MaxRetry(3)}},
	}
	for _, e := range entries {
		if _, err := w.scheduler.Register(e.spec, e.task, e.opts...); err != nil {
			return fmt.Errorf("schedule %s: %w", e.task.Type(), err)
		}
	}
	return nil
}

// digestPage is how many recipients one digest query reads.
const digestPage = 500

// handleDigest queues a digest for every user with unread notifications
// created in the last day. Each digest task's id names the user and the day,
// so running this twice sends nothing twice.
func (w *Worker) handleDigest(ctx context.Context, _ *asynq.Task) error {
	now := time.Now().UTC()
	date := now.Format(time.DateOnly)
	after := uuid.Nil
	for {
		users, err := w.notify.UnreadRecipients(ctx, now.Add(-24*time.Hour), after, digestPage)
		if err != nil {
			return fmt.Errorf("digest recipients: %w", err)
		}
		for _, user := range users {
			err := w.enqueue(ctx, TypeEmailDigest, EmailDigest{UserID: user.String(), Date: date},
				"digest:"+user.String()+":"+date, asynq.Queue(tasks.QueueLow), asynq.MaxRetry(w.cfg.EmailMaxRetry))
			if err != nil {
				return err
			}
			after = user
		}
		if len(users) < digestPage {
			return nil
		}
	}
}

// digestItems is how many unread notifications a digest lists.
const digestItems = 10

func (w *Worker) handleEmailDigest(ctx context.Context, t *asynq.Task) error {
	var p EmailDigest
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return final(err)
	}
	user := uuid.MustParse(p.UserID)
	prefs, err := w.notify.Preferences(ctx, user)
	if err != nil {
		return err
	}
	if !prefs.Email || !prefs.InApp || prefs.Muted(notify.KindDigest) {
		return nil
	}
	r, found, err := w.notify.Recipient(ctx, user)
	if err != nil {
		return err
	}
	if !found || r.Deleted || r.Email == "" {
		return nil // nobody to write to; tomorrow's digest tries again
	}
	count, err := w.notify.CountUnread(ctx, user)
	if err != nil {
		return err
	}
	if count == 0 {
		return nil // read since the digest was queued
	}
	unread, err := w.notify.LatestUnread(ctx, user, digestItems)
	if err != nil {
		return err
	}
	items := make([]DigestItem, len(unread))
	for i, n := range unread {
		link := ""
		if n.Link != nil {
			link = w.mailer.Absolute(*n.Link)
		}
		items[i] = DigestItem{Title: n.Title, Link: link}
	}
	subject, text, html, err := w.mailer.Render(MailData{
		Name: displayName(r), Kind: notify.KindDigest, Link: w.mailer.Absolute("/notifications"),
		Items: items, Count: int(count), More: int(count) - len(items),
	})
	if err != nil {
		return final(fmt.Errorf("%w: %w", errPermanent, err))
	}
	err = w.mailer.Send(ctx, Email{
		To: r.Email, ToName: displayName(r), Subject: subject, Text: text, HTML: html,
		MessageID: "digest-" + p.Date + "-" + p.UserID + "@notifications.supergraph",
	})
	return final(err)
}

// purgeBatch bounds one DELETE, so a large purge never holds many row locks.
const purgeBatch = 1000

func (w *Worker) handlePurge(ctx context.Context, _ *asynq.Task) error {
	before := time.Now().Add(-w.cfg.PurgeReadAfter)
	var total int64
	for {
		n, err := w.notify.PurgeRead(ctx, before, purgeBatch)
		total += n
		if err != nil {
			return fmt.Errorf("purge read notifications: %w", err)
		}
		if n < purgeBatch {
			w.log.InfoContext(ctx, "purged read notifications", "rows", total, "older_than", w.cfg.PurgeReadAfter)
			return nil
		}
	}
}
