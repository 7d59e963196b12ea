package tasks_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"supergraph/platform/tasks"
)

func valid() tasks.NotificationDeliver {
	return tasks.NotificationDeliver{
		EventID:     uuid.NewString(),
		RecipientID: uuid.NewString(),
		Kind:        tasks.KindOrderPlaced,
		Title:       "New order",
		Body:        "Someone ordered your gig.",
		Link:        "/orders/1",
		Data:        map[string]any{"order_id": "1"},
		CreatedAt:   time.Now(),
	}
}

func TestNotificationDeliverValidate(t *testing.T) {
	require.NoError(t, valid().Validate())
	minimal := valid()
	minimal.Body, minimal.Link, minimal.Data = "", "", nil
	require.NoError(t, minimal.Validate(), "body, link and data are optional")

	for name, tc := range map[string]struct {
		mutate func(*tasks.NotificationDeliver)
		field  string
	}{
		"event id":   {func(n *tasks.NotificationDeliver) { n.EventID = "42" }, "event_id"},
		"recipient":  {func(n *tasks.NotificationDeliver) { n.RecipientID = " " }, "recipient_id"},
		"kind case":  {func(n *tasks.NotificationDeliver) { n.Kind = "welcome" }, "kind"},
		"kind empty": {func(n *tasks.NotificationDeliver) { n.Kind = "" }, "kind"},
		"title":      {func(n *tasks.NotificationDeliver) { n.Title = "" }, "title"},
		"long title": {func(n *tasks.NotificationDeliver) { n.Title = strings.Repeat("x", 201) }, "title"},
		"long body":  {func(n *tasks.NotificationDeliver) { n.Body = strings.Repeat("x", 10_001) }, "body"},
		"created at": {func(n *tasks.NotificationDeliver) { n.CreatedAt = time.Time{} }, "created_at"},
	} {
		t.Run(name, func(t *testing.T) {
			n := valid()
			tc.mutate(&n)
			err := n.Validate()
			require.ErrorIs(t, err, tasks.ErrInvalidPayload)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
}

func TestNotificationDeliverJSON(t *testing.T) {
	n := valid()
	body, err := json.Marshal(n)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(body, &fields))
	for _, key := range []string{"event_id", "recipient_id", "kind", "title", "body", "link", "data", "created_at"} {
		assert.Contains(t, fields, key)
	}

	var back tasks.NotificationDeliver
	require.NoError(t, tasks.Decode(body, &back))
	assert.True(t, n.CreatedAt.Equal(back.CreatedAt))

	require.ErrorIs(t, tasks.Decode([]byte(`{"event_id":`), &back), tasks.ErrInvalidPayload)
	var empty tasks.NotificationDeliver
	require.ErrorIs(t, tasks.Decode([]byte(`{}`), &empty), tasks.ErrInvalidPayload)
	var e tasks.EmailSend
	require.NoError(t, tasks.Decode([]byte(`{"notification_id":"`+n.EventID+`","recipient_id":"u","new_field":1}`), &e),
		"unknown fields are tolerated")
	var p tasks.PushSend
	require.ErrorIs(t, tasks.Decode([]byte(`{"notification_id":"x"}`), &p), tasks.ErrInvalidPayload)
}

func TestQueues(t *testing.T) {
	prio := tasks.Priorities()
	for _, tt := range []string{tasks.TypeNotificationDeliver, tasks.TypeEmailSend, tasks.TypePushSend, "unknown:type"} {
		assert.Contains(t, prio, tasks.QueueFor(tt), "%s runs on a queue the worker serves", tt)
	}
	assert.Equal(t, tasks.QueueCritical, tasks.QueueFor(tasks.TypeNotificationDeliver))
	assert.Greater(t, prio[tasks.QueueCritical], prio[tasks.QueueDefault])
	assert.Greater(t, prio[tasks.QueueDefault], prio[tasks.QueueLow])
	prio[tasks.QueueLow] = 100
	assert.Equal(t, 1, tasks.Priorities()[tasks.QueueLow], "callers get a copy")
}

func TestFitClipsOnRuneBoundaries(t *testing.T) {
	long := strings.Repeat("ж", 150) // 300 bytes
	n := tasks.NotificationDeliver{Title: long, Body: "short"}.Fit()
	require.LessOrEqual(t, len(n.Title), 200)
	require.True(t, utf8.ValidString(n.Title))
	require.True(t, strings.HasSuffix(n.Title, "…"))
	require.Equal(t, "short", n.Body)
	kept := tasks.NotificationDeliver{Title: "exact"}.Fit()
	require.Equal(t, "exact", kept.Title)
}

func TestMoney(t *testing.T) {
	require.Equal(t, "29.00 EUR", tasks.Money(2900, "EUR"))
	require.Equal(t, "0.05 USD", tasks.Money(5, "USD"))
	require.Equal(t, "1234.56 RUB", tasks.Money(123456, "RUB"))
}
