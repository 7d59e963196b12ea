package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"supergraph/subgraphs/notifications/store"
)

// The platform's own side of delivery: the worker's e-mail, push, digest and
// purge tasks call these. They take no principal: only trusted processes
// hold a Service built for them.

// SetEmailStatus records the e-mail channel's status (a Status* constant)
// of notification id, with the last error when there was one.
func (s *Service) SetEmailStatus(ctx context.Context, id uuid.UUID, status string, errText *string) error {
	if err := s.q.SetEmailStatus(ctx, store.SetEmailStatusParams{ID: id, Status: status, Error: errText}); err != nil {
		return fmt.Errorf("set e-mail status of %s: %w", id, err)
	}
	return nil
}

// SetPushStatus records the push channel's status (a Status* constant) of
// notification id, with the last error when there was one.
func (s *Service) SetPushStatus(ctx context.Context, id uuid.UUID, status string, errText *string) error {
	if err := s.q.SetPushStatus(ctx, store.SetPushStatusParams{ID: id, Status: status, Error: errText}); err != nil {
		return fmt.Errorf("set push status of %s: %w", id, err)
	}
	return nil
}

// PendingDevices lists n's recipient's devices that n has not reached yet.
func (s *Service) PendingDevices(ctx context.Context, n Notification) ([]Device, error) {
	rows, err := s.q.PendingDevices(ctx, store.PendingDevicesParams{UserID: n.RecipientID, NotificationID: n.ID})
	if err != nil {
		return nil, fmt.Errorf("pending devices of %s: %w", n.ID, err)
	}
	return toDevices(rows), nil
}

// MarkPushDelivered records that notification reached device, so a retry
// skips it.
func (s *Service) MarkPushDelivered(ctx context.Context, notification, device uuid.UUID) error {
	if err := s.q.MarkPushDelivered(ctx, store.MarkPushDeliveredParams{NotificationID: notification, DeviceID: device}); err != nil {
		return fmt.Errorf("mark push delivered: %w", err)
	}
	return nil
}

// ForgetDevice removes a device the push provider reports gone.
func (s *Service) ForgetDevice(ctx context.Context, device uuid.UUID) error {
	if err := s.q.DeleteDeviceByID(ctx, device); err != nil {
		return fmt.Errorf("forget device %s: %w", device, err)
	}
	return nil
}

// UnreadRecipients returns up to limit users, in id order after the given
// one, with unread notifications created since a time (the digest's
// audience).
func (s *Service) UnreadRecipients(ctx context.Context, since time.Time, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	rows, err := s.q.UnreadRecipients(ctx, store.UnreadRecipientsParams{Since: since, AfterRecipient: after, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("unread recipients: %w", err)
	}
	out := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = r.RecipientID
	}
	return out, nil
}

// LatestUnread returns user's newest unread notifications, up to limit.
func (s *Service) LatestUnread(ctx context.Context, user uuid.UUID, limit int) ([]Notification, error) {
	rows, err := s.q.ListUnread(ctx, store.ListUnreadParams{RecipientID: user, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list unread: %w", err)
	}
	return toNotifications(rows), nil
}

// PurgeRead deletes up to batch read (or never shown in-app) notifications
// older than before and returns how many it deleted.
func (s *Service) PurgeRead(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.q.PurgeRead(ctx, store.PurgeReadParams{Before: before, BatchSize: int32(batch)})
}
