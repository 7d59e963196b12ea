// Package push sends push messages to registered devices through a Provider.
// The worker ships one provider, Webhook, which POSTs each message to a
// configured URL (a push gateway, or a test server); APNs or FCM providers
// would implement the same interface.
package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Message is one push message to one device.
type Message struct {
	NotificationID string         `json:"notificationId"`
	Token          string         `json:"token"`
	Platform       string         `json:"platform"`
	Kind           string         `json:"kind"`
	Title          string         `json:"title"`
	Body           string         `json:"body"`
	Link           string         `json:"link,omitempty"`
	Data           map[string]any `json:"data,omitempty"`
}

// Provider delivers push messages.
type Provider interface {
	Send(ctx context.Context, m Message) error
}

// ErrGone means the device no longer exists (app uninstalled): the caller
// forgets it instead of retrying.
var ErrGone = errors.New("push: device is gone")

// ErrRejected means the provider refused the message for good (a malformed
// token, say): retrying cannot help.
var ErrRejected = errors.New("push: message rejected")

// Webhook POSTs each message as JSON to URL. With a Secret, the body's
// HMAC-SHA256 is sent in X-Push-Signature ("sha256=<hex>") so the receiver
// can tell the worker's requests from forgeries.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
}

// SignatureHeader carries the body's HMAC.
const SignatureHeader = "X-Push-Signature"

// NewWebhook returns a Webhook provider with a bounded HTTP client.
func NewWebhook(url, secret string, timeout time.Duration) *Webhook {
	return &Webhook{URL: url, Secret: secret, Client: &http.Client{Timeout: timeout}}
}

// Send posts m. 2xx is success; 404 and 410 mean the device is gone; other
// 4xx are rejections; 5xx, 429 and network errors are worth retrying.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.NotificationID+":"+m.Token)
	if w.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return fmt.Errorf("push webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return ErrGone
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("push webhook: HTTP %d", resp.StatusCode)
	default:
		return fmt.Errorf("%w: HTTP %d", ErrRejected, resp.StatusCode)
	}
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
