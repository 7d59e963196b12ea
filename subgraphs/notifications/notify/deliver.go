package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/store"
)

// TypeBroadcast delivers one batch of a broadcast and queues the next. Only
// this service produces and consumes it, so it lives here, not in
// platform/tasks. Payload: BroadcastBatch.
const TypeBroadcast = "notification:broadcast"

// BroadcastBatch is the payload of TypeBroadcast.
type BroadcastBatch struct {
	BroadcastID string `json:"broadcast_id"`
	// AfterUser is the last recipient of the previous batch ("" at the start):
	// recipients are taken in user id order.
	AfterUser string `json:"after_user,omitempty"`
}

// Validate reports why the payload can never be processed.
func (b BroadcastBatch) Validate() error {
	var problems []string
	if _, err := uuid.Parse(b.BroadcastID); err != nil {
		problems = append(problems, "broadcast_id must be a UUID")
	}
	if b.AfterUser != "" {
		if _, err := uuid.Parse(b.AfterUser); err != nil {
			problems = append(problems, "after_user must be a UUID")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s: %s", tasks.ErrInvalidPayload, TypeBroadcast, strings.Join(problems, "; "))
	}
	return nil
}

// Delivery is the outcome of delivering one event.
type Delivery struct {
	Notification Notification
	// Created is false when the event had been stored before (a retry).
	Created bool
}

// WantsEmail reports whether the e-mail is still to be sent.
func (d Delivery) WantsEmail() bool { return d.Notification.EmailStatus == StatusQueued }

// WantsPush reports whether the push message is still to be sent.
func (d Delivery) WantsPush() bool { return d.Notification.PushStatus == StatusQueued }

// Deliver stores the notification of an event once (idempotent on its event
// id), deciding from the recipient's preferences which channels it goes to,
// and publishes it to live subscribers. A retry of an event already stored
// publishes again, since the earlier attempt may have failed before
// publishing; subscribers drop the duplicate by id.
func (s *Service) Deliver(ctx context.Context, ev tasks.NotificationDeliver) (Delivery, error) {
	if err := ev.Validate(); err != nil {
		return Delivery{}, err
	}
	eventID := uuid.MustParse(ev.EventID) // validated
	recipient, err := uuid.Parse(ev.RecipientID)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: recipient_id must be a UUID", tasks.ErrInvalidPayload)
	}
	data := []byte("{}")
	if len(ev.Data) > 0 {
		if data, err = json.Marshal(ev.Data); err != nil {
			return Delivery{}, fmt.Errorf("%w: data: %w", tasks.ErrInvalidPayload, err)
		}
	}
	var d Delivery
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		// Serialise this recipient's deliveries so seq order is commit order
		// (the no-gap replay of subscriptions depends on it).
		if err := q.LockRecipient(ctx, recipient.String()); err != nil {
			return err
		}
		existing, err := q.GetNotification(ctx, eventID)
		if err == nil {
			d = Delivery{Notification: toNotification(existing)}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		prefs, err := preferences(ctx, q, recipient)
		if err != nil {
			return err
		}
		muted := prefs.Muted(ev.Kind)
		var link *string
		if ev.Link != "" {
			link = &ev.Link
		}
		n, err := q.InsertNotification(ctx, store.InsertNotificationParams{
			ID: eventID, RecipientID: recipient, Kind: ev.Kind, Title: ev.Title, Body: ev.Body,
			Link: link, Data: data, InApp: prefs.InApp && !muted, CreatedAt: ev.CreatedAt,
			EmailStatus: channelStatus(prefs.Email && !muted),
			PushStatus:  channelStatus(prefs.Push && !muted),
		})
		if err != nil {
			return err
		}
		d = Delivery{Notification: toNotification(n), Created: true}
		return nil
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("store notification %s: %w", eventID, err)
	}
	if d.Notification.InApp {
		if err := Publish(ctx, s.rdb, d.Notification); err != nil {
			return d, err
		}
	}
	return d, nil
}

func channelStatus(on bool) string {
	if on {
		return StatusQueued
	}
	return StatusSkipped
}

// ApplyRecipient updates the recipient directory from the users service's event.
func (s *Service) ApplyRecipient(ctx context.Context, r tasks.NotificationRecipient) error {
	if err := r.Validate(); err != nil {
		return err
	}
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	err := s.q.UpsertRecipient(ctx, store.UpsertRecipientParams{
		UserID: uuid.MustParse(r.UserID), Email: r.Email, Username: r.Username,
		DisplayName: r.DisplayName, Roles: roles, Deleted: r.Deleted, Version: r.Version,
	})
	if err != nil {
		return fmt.Errorf("apply recipient %s: %w", r.UserID, err)
	}
	return nil
}

// Recipient returns the directory entry of user; found is false when the
// users service has not told us about them (yet).
func (s *Service) Recipient(ctx context.Context, user uuid.UUID) (r Recipient, found bool, err error) {
	row, err := s.q.GetRecipient(ctx, user)
	if errors.Is(err, pgx.ErrNoRows) {
		return Recipient{}, false, nil
	}
	if err != nil {
		return Recipient{}, false, fmt.Errorf("get recipient: %w", err)
	}
	return toRecipient(row), true, nil
}

// BroadcastStep delivers one batch of up to size recipients of a broadcast.
// It returns the deliveries (for e-mail and push) and the next batch, nil
// when this was the last. Each recipient's event id derives from the
// broadcast and the user, so a retried batch stores nothing twice.
func (s *Service) BroadcastStep(ctx context.Context, batch BroadcastBatch, size int) ([]Delivery, *BroadcastBatch, error) {
	if err := batch.Validate(); err != nil {
		return nil, nil, err
	}
	id := uuid.MustParse(batch.BroadcastID)
	b, err := s.q.GetBroadcast(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("%w: broadcast %s does not exist", tasks.ErrInvalidPayload, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get broadcast: %w", err)
	}
	after := uuid.Nil
	if batch.AfterUser != "" {
		after = uuid.MustParse(batch.AfterUser)
	}
	users, err := s.q.ListRecipients(ctx, store.ListRecipientsParams{Role: b.Role, AfterUser: after, MaxRows: int32(size)})
	if err != nil {
		return nil, nil, fmt.Errorf("list recipients: %w", err)
	}
	link := ""
	if b.Link != nil {
		link = *b.Link
	}
	deliveries := make([]Delivery, 0, len(users))
	created := 0
	for _, user := range users {
		d, err := s.Deliver(ctx, tasks.NotificationDeliver{
			EventID:     uuid.NewSHA1(b.ID, user[:]).String(),
			RecipientID: user.String(),
			Kind:        tasks.KindBroadcast,
			Title:       b.Title,
			Body:        b.Body,
			Link:        link,
			Data:        map[string]any{"broadcastId": b.ID.String()},
			CreatedAt:   b.CreatedAt,
		})
		if err != nil {
			return nil, nil, err
		}
		if d.Created {
			created++
		}
		deliveries = append(deliveries, d)
	}
	if created > 0 {
		if err := s.q.AddBroadcastDelivered(ctx, store.AddBroadcastDeliveredParams{ID: id, N: int32(created)}); err != nil {
			return nil, nil, fmt.Errorf("count broadcast: %w", err)
		}
	}
	if len(users) < size {
		if err := s.q.CompleteBroadcast(ctx, id); err != nil {
			return nil, nil, fmt.Errorf("complete broadcast: %w", err)
		}
		return deliveries, nil, nil
	}
	return deliveries, &BroadcastBatch{BroadcastID: batch.BroadcastID, AfterUser: users[len(users)-1].String()}, nil
}
