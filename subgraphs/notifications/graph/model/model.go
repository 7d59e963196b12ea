package model

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// User is the users subgraph's entity, extended here. Only the key is known;
// every notification field has a resolver that checks the caller is the user.
type User struct {
	ID string
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}

// Notification is the Notification entity.
type Notification struct {
	ID          string
	Kind        string
	Title       string
	Body        string
	Link        *string
	Data        JSON
	ReadAt      *time.Time
	CreatedAt   time.Time
	Recipient   User
	EmailStatus DeliveryStatus
	PushStatus  DeliveryStatus
}

// IsEntity marks Notification as a federation entity.
func (Notification) IsEntity() {}

// JSON is the JSON scalar: a JSON object.
type JSON map[string]any

// MarshalGQL writes the object; nil is written as {} since the field is non-null.
func (j JSON) MarshalGQL(w io.Writer) {
	if j == nil {
		_, _ = io.WriteString(w, "{}")
		return
	}
	b, err := json.Marshal(map[string]any(j))
	if err != nil {
		// Values come from json.Unmarshal, so they always marshal again.
		_, _ = io.WriteString(w, "{}")
		return
	}
	_, _ = w.Write(b)
}

// UnmarshalGQL accepts an input object.
func (j *JSON) UnmarshalGQL(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("JSON must be an object, got %T", v)
	}
	*j = m
	return nil
}
