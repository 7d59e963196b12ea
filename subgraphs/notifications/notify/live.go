package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/live"
)

// Live delivery (platform/live): the worker PUBLISHes every stored in-app
// notification on its recipient's Redis channel; every subgraph replica
// runs one Hub, a single pub/sub connection multiplexed over the
// subscriptions of the users that replica serves.

// Hub is the notifications subgraph's live hub.
type Hub = live.Hub[Notification]

// NewHub returns the Hub of a replica; Run must be running for
// subscriptions to become live.
func NewHub(rdb *redis.Client, log *slog.Logger) *Hub {
	return live.NewHub(rdb, log.With("component", "notifications-hub"), decode)
}

// Channel is the pub/sub channel of a user's notifications. Pub/sub ignores
// the database number, so any client of the server reaches it.
func Channel(user uuid.UUID) string { return "notifications:user:" + user.String() }

// wire is the published form of a notification.
type wire struct {
	ID          uuid.UUID       `json:"id"`
	Seq         int64           `json:"seq"`
	RecipientID uuid.UUID       `json:"recipient_id"`
	Kind        string          `json:"kind"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	Link        *string         `json:"link,omitempty"`
	Data        json.RawMessage `json:"data"`
	ReadAt      *time.Time      `json:"read_at,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	EmailStatus string          `json:"email_status"`
	PushStatus  string          `json:"push_status"`
}

// Publish sends n to its recipient's live subscribers on every replica.
func Publish(ctx context.Context, rdb *redis.Client, n Notification) error {
	err := live.Publish(ctx, rdb, Channel(n.RecipientID), wire{
		ID: n.ID, Seq: n.Seq, RecipientID: n.RecipientID, Kind: n.Kind, Title: n.Title, Body: n.Body,
		Link: n.Link, Data: n.Data, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt,
		EmailStatus: n.EmailStatus, PushStatus: n.PushStatus,
	})
	if err != nil {
		return fmt.Errorf("notification %s: %w", n.ID, err)
	}
	return nil
}

func decode(payload string) (Notification, error) {
	var w wire
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return Notification{}, err
	}
	return Notification{
		ID: w.ID, Seq: w.Seq, RecipientID: w.RecipientID, Kind: w.Kind, Title: w.Title, Body: w.Body,
		Link: w.Link, Data: w.Data, InApp: true, ReadAt: w.ReadAt, CreatedAt: w.CreatedAt,
		EmailStatus: w.EmailStatus, PushStatus: w.PushStatus,
	}, nil
}
