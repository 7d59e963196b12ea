package ws

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendReportsAMessageItCannotEncode: a payload that is not JSON (a bug
// upstream, never the client's doing) is not sent, and not silently either:
// send logs it and tells the caller.
func TestSendReportsAMessageItCannotEncode(t *testing.T) {
	var logs bytes.Buffer
	c := &conn{
		h:         &Handler{opts: Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), MaxBufferedBytes: 1 << 20}},
		requestID: "req-1",
	}
	err := c.send(message{ID: "op-1", Type: "next", Payload: json.RawMessage(`{"data":`)})
	require.Error(t, err)
	require.Empty(t, c.out, "nothing is queued for the client")
	require.Contains(t, logs.String(), "websocket message not sent: cannot encode it")
	require.Contains(t, logs.String(), "request_id=req-1")
	require.Contains(t, logs.String(), "type=next")
	require.Contains(t, logs.String(), "id=op-1")
}
