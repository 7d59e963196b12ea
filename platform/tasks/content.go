package tasks

import "github.com/google/uuid"

// The content service's own background work. Channel members live in its
// database, so it drains this queue itself: each step reads one batch of a
// new post's audience and writes their notifications to its outbox, which
// the worker then delivers.
const (
	// TypeContentPostFanOut notifies one batch of the members who asked to
	// hear of a channel's new posts, and queues the next batch. Payload:
	// ContentPostFanOut.
	TypeContentPostFanOut = "content:post-fanout"
)

// QueueContent is consumed by the content service, not by the worker.
const QueueContent = "content"

// ContentPostFanOut is the payload of TypeContentPostFanOut.
type ContentPostFanOut struct {
	PostID string `json:"post_id"`
	// After is the last member reached by the previous step (members are
	// reached in id order); empty for the first step.
	After string `json:"after,omitempty"`
}

// Validate reports why the payload cannot be processed; the error wraps
// ErrInvalidPayload.
func (f ContentPostFanOut) Validate() error {
	var problems []string
	if _, err := uuid.Parse(f.PostID); err != nil {
		problems = append(problems, "post_id must be a UUID")
	}
	if f.After != "" {
		if _, err := uuid.Parse(f.After); err != nil {
			problems = append(problems, "after must be a UUID")
		}
	}
	return invalid(TypeContentPostFanOut, problems)
}
