package gigs

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/outbox"
	"supergraph/platform/tasks"
)

// Notification size limits of tasks.NotificationDeliver, in bytes; titles
// quote user text (a gig title of 120 characters can be 480 bytes), so it
// is clipped to fit rather than failing the change it reports.
const (
	maxNoticeTitle = 200
	maxNoticeBody  = 10_000
)

// queueNotice writes a notification event to the outbox in tx.
func (s *Service) queueNotice(ctx context.Context, tx pgx.Tx, recipient uuid.UUID, kind, title, body, link string, data map[string]any, at time.Time) error {
	id := newID()
	_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
		EventID:     id.String(),
		RecipientID: recipient.String(),
		Kind:        kind,
		Title:       clip(title, maxNoticeTitle),
		Body:        clip(body, maxNoticeBody),
		Link:        link,
		Data:        data,
		CreatedAt:   at,
	}, outbox.WithID(id))
	return err
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
