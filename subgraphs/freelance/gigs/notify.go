package gigs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
)

// queueNotice writes a notification event to the outbox in tx.
func (s *Service) queueNotice(ctx context.Context, tx pgx.Tx, recipient uuid.UUID, kind, title, body, link string, data map[string]any, at time.Time) error {
	id := pg.NewID()
	_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
		EventID:     id.String(),
		RecipientID: recipient.String(),
		Kind:        kind,
		Title:       title,
		Body:        body,
		Link:        link,
		Data:        data,
		CreatedAt:   at,
	}.Fit(), outbox.WithID(id))
	return err
}
