package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"supergraph/platform/demo"
	"supergraph/platform/identity"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
)

// demoNotifications are stored for every demo account so a fresh `make run`
// shows a read and an unread notification; WELCOME comes from the users
// seed through the worker.
var demoNotifications = []struct{ key, kind, title, body, link string }{
	{"tour", "TIP", "Take the tour", "Notifications arrive live on the notificationAdded subscription.", "/notifications"},
	{"preferences", "TIP", "Choose how we reach you", "Switch e-mail, in-app and push per channel, or mute kinds.", "/settings/notifications"},
}

// Seed stores the demo notifications that do not exist yet (ids derive from
// the account and the key, so running it again changes nothing). They are
// in-app only: e-mail and push are marked skipped, since no task sends them.
func Seed(ctx context.Context, svc *notify.Service, log *slog.Logger) error {
	for _, user := range []string{demo.Admin, demo.Alice, demo.Bob, demo.Carol, demo.Dave} {
		uid := demo.UserID(user)
		for i, n := range demoNotifications {
			id := demo.ID("notification", user+":"+n.key)
			d, err := svc.Deliver(ctx, tasks.NotificationDeliver{
				EventID: id.String(), RecipientID: uid.String(), Kind: n.kind, Title: n.title, Body: n.body,
				Link: n.link, CreatedAt: time.Now().UTC(),
			})
			if err != nil {
				return fmt.Errorf("seed notifications of %s: %w", user, err)
			}
			if !d.Created {
				continue
			}
			if err := svc.SetEmailStatus(ctx, id, notify.StatusSkipped, nil); err != nil {
				return err
			}
			if err := svc.SetPushStatus(ctx, id, notify.StatusSkipped, nil); err != nil {
				return err
			}
			if i == 0 {
				if _, err := svc.MarkRead(ctx, identity.Principal{UserID: uid.String()}, id); err != nil {
					return err
				}
			}
		}
		log.Info("seeded notifications", "username", user)
	}
	return nil
}
