package community

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
)

// Notification kinds of the content service (tasks.KindCommentReply is
// shared with the worker's templates).
const (
	KindChannelJoinRequest  = "CHANNEL_JOIN_REQUEST"
	KindChannelInvite       = "CHANNEL_INVITE"
	KindChannelJoinApproved = "CHANNEL_JOIN_APPROVED"
	KindNewPost             = "CHANNEL_NEW_POST"
)

// notice is one notification to write to the outbox.
type notice struct {
	recipient uuid.UUID
	kind      string
	title     string
	body      string
	link      string
	data      map[string]any
}

// queueNotice writes a notification event to the outbox in tx. id, when
// not nil, is the event id (a retried fan-out step writes the same ids, and
// the worker stores each once).
func queueNotice(ctx context.Context, tx pgx.Tx, n notice, at time.Time, id uuid.UUID) error {
	if id == uuid.Nil {
		id = pg.NewID()
	}
	_, err := outbox.Add(ctx, tx, tasks.TypeNotificationDeliver, tasks.NotificationDeliver{
		EventID: id.String(), RecipientID: n.recipient.String(), Kind: n.kind,
		Title: n.title, Body: n.body, Link: n.link, Data: n.data, CreatedAt: at,
	}.Fit(), outbox.WithID(id))
	return err
}

func channelLink(slug string) string { return "/c/" + slug }
func postLink(post uuid.UUID) string { return "/posts/" + post.String() }
func commentLink(post, c uuid.UUID) string {
	return "/posts/" + post.String() + "#comment-" + c.String()
}
