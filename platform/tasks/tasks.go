// Package tasks is the contract between the services that produce background
// work (through platform/outbox) and the worker that performs it: asynq task
// type names, their JSON payloads, and the queues they run on.
package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Task types, asynq style ("domain:action"). A type names a payload struct
// below; changing a payload incompatibly needs a new type, because tasks
// already queued keep the old shape.
const (
	// TypeNotificationDeliver stores a notification, publishes it to live
	// subscribers and fans out to e-mail and push. Payload: NotificationDeliver.
	TypeNotificationDeliver = "notification:deliver"
	// TypeEmailSend sends one e-mail for a stored notification. Payload: EmailSend.
	TypeEmailSend = "email:send"
	// TypePushSend sends one push message for a stored notification. Payload: PushSend.
	TypePushSend = "push:send"
)

// Queue names. The worker weighs them with Priorities; producers pick one
// with QueueFor unless they have a reason to differ.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Priorities are the weights for asynq.Config.Queues: out of every 10 tasks a
// busy worker takes about 6 critical, 3 default and 1 low, so bulk work (a
// broadcast, a digest) cannot starve interactive work, nor be starved by it.
// Use it directly, or copy it: it is a fresh map on every call.
func Priorities() map[string]int {
	return map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}
}

// QueueFor returns the queue a task type runs on by default. In-app
// delivery is what a user watches happen, so it goes first; unknown types
// take the default queue.
func QueueFor(taskType string) string {
	switch taskType {
	case TypeNotificationDeliver:
		return QueueCritical
	case TypeEmailSend, TypePushSend:
		return QueueDefault
	default:
		return QueueDefault
	}
}

// Notification kinds known today. Kind is an open set (a new domain event
// needs no change here), so Validate checks its shape, not membership.
const (
	KindWelcome                = "WELCOME"
	KindOrderPlaced            = "ORDER_PLACED"
	KindOrderStarted           = "ORDER_STARTED"
	KindOrderDelivered         = "ORDER_DELIVERED"
	KindOrderRevisionRequested = "ORDER_REVISION_REQUESTED"
	KindOrderCompleted         = "ORDER_COMPLETED"
	KindOrderCancelled         = "ORDER_CANCELLED"
	KindReviewReceived         = "REVIEW_RECEIVED"
	KindCommentReply           = "COMMENT_REPLY"
	KindBroadcast              = "BROADCAST"
)

// ErrInvalidPayload marks a payload that can never be processed: the worker
// should not retry it (wrap it with asynq.SkipRetry there).
var ErrInvalidPayload = errors.New("invalid task payload")

var kindPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// Size limits keep one bad producer from filling Redis or a mailbox.
const (
	maxTitle = 200
	maxBody  = 10_000
	maxLink  = 2_000
)

// NotificationDeliver is the payload of TypeNotificationDeliver.
type NotificationDeliver struct {
	// EventID identifies the event across retries and re-deliveries: the
	// worker stores the notification idempotently on it. Producers use the
	// outbox row id (outbox.WithID), so it is also the asynq task id.
	EventID     string `json:"event_id"`
	RecipientID string `json:"recipient_id"`
	// Kind is an upper-case event name such as KindWelcome; preferences
	// mute notifications by kind.
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
	// Link is a path or URL in the web client the notification points to.
	Link string `json:"link,omitempty"`
	// Data carries kind-specific fields (ids, amounts) for the client.
	Data      map[string]any `json:"data,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// Fit clips the title and body to their size limits on a rune boundary,
// marking the cut: notifications quote user text (a title of 120 characters
// can be 480 bytes), which should shorten the notice rather than fail the
// change it reports.
func (n NotificationDeliver) Fit() NotificationDeliver {
	n.Title = clip(n.Title, maxTitle)
	n.Body = clip(n.Body, maxBody)
	return n
}

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

// Validate reports why the payload cannot be delivered; the error wraps
// ErrInvalidPayload.
func (n NotificationDeliver) Validate() error {
	var problems []string
	if _, err := uuid.Parse(n.EventID); err != nil {
		problems = append(problems, "event_id must be a UUID")
	}
	if strings.TrimSpace(n.RecipientID) == "" {
		problems = append(problems, "recipient_id is required")
	}
	if !kindPattern.MatchString(n.Kind) {
		problems = append(problems, "kind must be an upper-case name such as WELCOME")
	}
	switch {
	case strings.TrimSpace(n.Title) == "":
		problems = append(problems, "title is required")
	case len(n.Title) > maxTitle:
		problems = append(problems, fmt.Sprintf("title is longer than %d bytes", maxTitle))
	}
	if len(n.Body) > maxBody {
		problems = append(problems, fmt.Sprintf("body is longer than %d bytes", maxBody))
	}
	if len(n.Link) > maxLink {
		problems = append(problems, fmt.Sprintf("link is longer than %d bytes", maxLink))
	}
	if n.CreatedAt.IsZero() {
		problems = append(problems, "created_at is required")
	}
	return invalid(TypeNotificationDeliver, problems)
}

// EmailSend is the payload of TypeEmailSend: the worker renders the
// notification's kind template for the recipient's address.
type EmailSend struct {
	// NotificationID is the stored notification (its event id) to send.
	NotificationID string `json:"notification_id"`
	RecipientID    string `json:"recipient_id"`
}

// Validate reports why the payload cannot be sent; the error wraps
// ErrInvalidPayload.
func (e EmailSend) Validate() error {
	return invalid(TypeEmailSend, requireIDs(e.NotificationID, e.RecipientID))
}

// PushSend is the payload of TypePushSend: one message to every registered
// device of the recipient.
type PushSend struct {
	// NotificationID is the stored notification (its event id) to send.
	NotificationID string `json:"notification_id"`
	RecipientID    string `json:"recipient_id"`
}

// Validate reports why the payload cannot be sent; the error wraps
// ErrInvalidPayload.
func (p PushSend) Validate() error {
	return invalid(TypePushSend, requireIDs(p.NotificationID, p.RecipientID))
}

// Decode unmarshals a task payload and validates it, so a handler can reject
// a malformed task without retrying. Unknown fields are ignored, so producers
// may add optional fields before the worker knows them:
//
//	var p tasks.NotificationDeliver
//	if err := tasks.Decode(t.Payload(), &p); err != nil {
//		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
//	}
func Decode[T interface{ Validate() error }](payload []byte, into *T) error {
	if err := json.Unmarshal(payload, into); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	return (*into).Validate()
}

func requireIDs(notificationID, recipientID string) []string {
	var problems []string
	if _, err := uuid.Parse(notificationID); err != nil {
		problems = append(problems, "notification_id must be a UUID")
	}
	if strings.TrimSpace(recipientID) == "" {
		problems = append(problems, "recipient_id is required")
	}
	return problems
}

func invalid(taskType string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalidPayload, taskType, strings.Join(problems, "; "))
}

// Money is an amount as notification texts show it: "29.00 EUR".
func Money(cents int32, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}
