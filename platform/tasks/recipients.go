package tasks

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Tasks that keep the notifications service's recipient directory and the
// users service's own housekeeping. The notifications service cannot read the
// users database (another service's), so the users service tells it what it
// needs to reach a user: the e-mail address for mail, the roles for
// broadcasts to a role.
const (
	// TypeNotificationRecipient upserts one user in the notifications
	// service's recipient directory. The users service adds it to its outbox
	// whenever a user is created or their e-mail, names or roles change.
	// Payload: NotificationRecipient.
	TypeNotificationRecipient = "notification:recipient"
	// TypeUsersPurgeExpiredTokens deletes the users service's expired refresh
	// tokens. The worker's scheduler enqueues it on QueueUsers; the users
	// service consumes that queue itself, so no other service touches its
	// tables. Empty payload.
	TypeUsersPurgeExpiredTokens = "users:purge-expired-tokens"
)

// QueueUsers is consumed by the users service, not by the worker.
const QueueUsers = "users"

// NotificationRecipient is the payload of TypeNotificationRecipient.
type NotificationRecipient struct {
	UserID      string   `json:"user_id"`
	Email       string   `json:"email"`
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Roles       []string `json:"roles"`
	// Deleted stops all mail and broadcasts to the user.
	Deleted bool `json:"deleted,omitempty"`
	// Version orders events of one user (the user row's updated_at): an older
	// event delivered late never overwrites a newer one.
	Version time.Time `json:"version"`
}

// Validate reports why the payload cannot be applied; the error wraps
// ErrInvalidPayload.
func (r NotificationRecipient) Validate() error {
	var problems []string
	if _, err := uuid.Parse(r.UserID); err != nil {
		problems = append(problems, "user_id must be a UUID")
	}
	if !r.Deleted && !strings.Contains(r.Email, "@") {
		problems = append(problems, "email is required")
	}
	if r.Version.IsZero() {
		problems = append(problems, "version is required")
	}
	return invalid(TypeNotificationRecipient, problems)
}
