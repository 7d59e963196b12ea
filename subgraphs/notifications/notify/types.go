package notify

import (
	"time"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/subgraphs/notifications/store"
)

// Notification is one stored notification as the domain's callers see it.
type Notification struct {
	ID          uuid.UUID
	Seq         int64 // per-recipient order; cursors and live replay use it
	RecipientID uuid.UUID
	Kind        string
	Title       string
	Body        string
	Link        *string
	Data        []byte // a JSON object
	InApp       bool
	ReadAt      *time.Time
	CreatedAt   time.Time
	// EmailStatus and PushStatus are Status* constants.
	EmailStatus string
	PushStatus  string
}

// Device is one registered push device (an app installation).
type Device struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Token     string
	Platform  string
	CreatedAt time.Time
}

// Broadcast is a notification STAFF sent to everyone or to a role's holders.
type Broadcast struct {
	ID          uuid.UUID
	SenderID    uuid.UUID
	Role        *string
	Title       string
	Body        string
	Link        *string
	CreatedAt   time.Time
	Delivered   int32
	CompletedAt *time.Time
}

// Recipient is a user's entry in the directory the users service keeps
// current through events.
type Recipient struct {
	UserID      uuid.UUID
	Email       string
	Username    string
	DisplayName string
	Roles       []string
	Deleted     bool
}

func toNotification(n store.Notification) Notification {
	return Notification{
		ID: n.ID, Seq: n.Seq, RecipientID: n.RecipientID, Kind: n.Kind, Title: n.Title, Body: n.Body,
		Link: n.Link, Data: n.Data, InApp: n.InApp, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt,
		EmailStatus: n.EmailStatus, PushStatus: n.PushStatus,
	}
}

func toNotifications(rows []store.Notification) []Notification {
	out := make([]Notification, len(rows))
	for i, n := range rows {
		out[i] = toNotification(n)
	}
	return out
}

func toDevice(d store.PushDevice) Device {
	return Device{ID: d.ID, UserID: d.UserID, Token: d.Token, Platform: d.Platform, CreatedAt: d.CreatedAt}
}

func toDevices(rows []store.PushDevice) []Device {
	out := make([]Device, len(rows))
	for i, d := range rows {
		out[i] = toDevice(d)
	}
	return out
}

func toBroadcast(b store.Broadcast) Broadcast {
	return Broadcast{
		ID: b.ID, SenderID: b.SenderID, Role: b.Role, Title: b.Title, Body: b.Body, Link: b.Link,
		CreatedAt: b.CreatedAt, Delivered: b.Delivered, CompletedAt: b.CompletedAt,
	}
}

func toRecipient(r store.Recipient) Recipient {
	return Recipient{
		UserID: r.UserID, Email: r.Email, Username: r.Username, DisplayName: r.DisplayName,
		Roles: r.Roles, Deleted: r.Deleted,
	}
}

// self checks that the caller is user, whose private data is read:
// anonymous callers are UNAUTHENTICATED, anyone else FORBIDDEN (STAFF too:
// notifications are private).
func self(p identity.Principal, user uuid.UUID) (uuid.UUID, error) {
	me, err := p.SignedIn()
	if err != nil {
		return uuid.Nil, err
	}
	if user != me {
		return uuid.Nil, apperr.Forbidden("only the user themself may read this")
	}
	return me, nil
}
