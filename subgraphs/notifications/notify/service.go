// Package notify is the notifications domain: storing and listing a user's
// notifications, their preferences and push devices, broadcasts, and the live
// feed over Redis pub/sub. The subgraph's resolvers and the worker's task
// handlers both call it; neither touches the store directly.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/outbox"
	"supergraph/platform/pg"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/store"
)

// Delivery statuses of one channel of a notification (the schema's
// DeliveryStatus and the columns' CHECK constraints).
const (
	StatusSkipped = "SKIPPED"
	StatusQueued  = "QUEUED"
	StatusSent    = "SENT"
	StatusFailed  = "FAILED"
)

// KindDigest is the kind of the daily unread digest e-mail; muting it stops
// the digest.
const KindDigest = "DIGEST"

// Service implements the notifications domain.
type Service struct {
	pool *pgxpool.Pool
	q    *store.Queries
	// rdb publishes to live subscribers; the Hub (subgraph side) receives.
	rdb *redis.Client
	hub *Hub
	log *slog.Logger
}

// New returns a Service. hub may be nil where nothing subscribes (the worker).
func New(pool *pgxpool.Pool, rdb *redis.Client, hub *Hub, log *slog.Logger) *Service {
	return &Service{pool: pool, q: store.New(pool), rdb: rdb, hub: hub, log: log}
}

// Queries gives the worker read access for rendering and status updates.
func (s *Service) Queries() *store.Queries { return s.q }

// Preferences are a user's channel switches and muted kinds.
type Preferences struct {
	Email, InApp, Push bool
	MutedKinds         []string
}

// DefaultPreferences apply to a user who never changed theirs.
var DefaultPreferences = Preferences{Email: true, InApp: true, Push: true, MutedKinds: []string{}}

// Muted reports whether kind is muted.
func (p Preferences) Muted(kind string) bool { return slices.Contains(p.MutedKinds, kind) }

func toPreferences(p store.Preference) Preferences {
	return Preferences{Email: p.Email, InApp: p.InApp, Push: p.Push, MutedKinds: p.MutedKinds}
}

// Preferences returns user's preferences (the defaults when never set).
func (s *Service) Preferences(ctx context.Context, user uuid.UUID) (Preferences, error) {
	return preferences(ctx, s.q, user)
}

func preferences(ctx context.Context, q *store.Queries, user uuid.UUID) (Preferences, error) {
	p, err := q.GetPreferences(ctx, user)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultPreferences, nil
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("get preferences: %w", err)
	}
	return toPreferences(p), nil
}

// PreferencesInput changes the given fields only.
type PreferencesInput struct {
	Email, InApp, Push *bool
	// MutedKinds replaces the muted kinds when not nil.
	MutedKinds []string
}

var kindPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

const maxMutedKinds = 100

// UpdatePreferences applies in to user's preferences.
func (s *Service) UpdatePreferences(ctx context.Context, user uuid.UUID, in PreferencesInput) (Preferences, error) {
	var muted []string
	if in.MutedKinds != nil {
		if len(in.MutedKinds) > maxMutedKinds {
			return Preferences{}, apperr.BadInput("mutedKinds", fmt.Sprintf("at most %d kinds", maxMutedKinds))
		}
		muted = []string{}
		for _, k := range in.MutedKinds {
			k = strings.ToUpper(strings.TrimSpace(k))
			if !kindPattern.MatchString(k) {
				return Preferences{}, apperr.BadInput("mutedKinds", fmt.Sprintf("%q is not a notification kind (such as ORDER_PLACED)", k))
			}
			if !slices.Contains(muted, k) {
				muted = append(muted, k)
			}
		}
		slices.Sort(muted)
	}
	p, err := s.q.UpdatePreferences(ctx, store.UpdatePreferencesParams{
		UserID: user, Email: in.Email, InApp: in.InApp, Push: in.Push, MutedKinds: muted,
	})
	if err != nil {
		return Preferences{}, fmt.Errorf("update preferences: %w", err)
	}
	return toPreferences(p), nil
}

// List returns up to limit of user's notifications, newest first, older than
// beforeSeq when given.
func (s *Service) List(ctx context.Context, user uuid.UUID, unreadOnly bool, limit int, beforeSeq *int64) ([]store.Notification, error) {
	rows, err := s.q.ListNotifications(ctx, store.ListNotificationsParams{
		RecipientID: user, UnreadOnly: unreadOnly, BeforeSeq: beforeSeq, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return rows, nil
}

// Notifications returns the visible notifications with the given ids, keyed
// by id; the caller filters by recipient.
func (s *Service) Notifications(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]store.Notification, error) {
	rows, err := s.q.GetNotifications(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("get notifications: %w", err)
	}
	out := make(map[uuid.UUID]store.Notification, len(rows))
	for _, n := range rows {
		out[n.ID] = n
	}
	return out, nil
}

// CountUnread counts user's unread notifications.
func (s *Service) CountUnread(ctx context.Context, user uuid.UUID) (int64, error) {
	n, err := s.q.CountUnread(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of user's notifications read. Someone else's is
// FORBIDDEN; an unknown id NOT_FOUND.
func (s *Service) MarkRead(ctx context.Context, user, id uuid.UUID) (store.Notification, error) {
	n, err := s.q.MarkRead(ctx, store.MarkReadParams{ID: id, RecipientID: user})
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Notification{}, fmt.Errorf("mark read: %w", err)
	}
	other, err := s.q.GetNotification(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && !other.InApp):
		return store.Notification{}, apperr.NotFound("notification")
	case err != nil:
		return store.Notification{}, fmt.Errorf("mark read: %w", err)
	default:
		return store.Notification{}, apperr.Forbidden("this notification is someone else's")
	}
}

// MarkAllRead marks every unread notification of user read and returns how many.
func (s *Service) MarkAllRead(ctx context.Context, user uuid.UUID) (int64, error) {
	n, err := s.q.MarkAllRead(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	return n, nil
}

// Push platforms (the schema's PushPlatform).
var platforms = []string{"IOS", "ANDROID", "WEB"}

const maxTokenLength = 4096

// RegisterDevice registers token (one app installation) for user, or
// refreshes user's own registration of it. A token registered to another
// user is refused with CONFLICT, never moved: whoever learnt it would
// otherwise receive that user's pushes.
func (s *Service) RegisterDevice(ctx context.Context, user uuid.UUID, token, platform string) (store.PushDevice, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLength {
		return store.PushDevice{}, apperr.BadInput("token", fmt.Sprintf("token must be 1 to %d characters", maxTokenLength))
	}
	if !slices.Contains(platforms, platform) {
		return store.PushDevice{}, apperr.BadInput("platform", "unknown platform")
	}
	d, err := s.q.UpsertDevice(ctx, store.UpsertDeviceParams{ID: uuid.New(), UserID: user, Token: token, Platform: platform})
	if errors.Is(err, pgx.ErrNoRows) {
		// Moving it silently would hand someone else's pushes to whoever
		// learnt the token; the app unregisters it when its user signs out.
		return store.PushDevice{}, apperr.Conflict("token", "this push token is registered to another account: it must be unregistered there first")
	}
	if err != nil {
		return store.PushDevice{}, fmt.Errorf("register device: %w", err)
	}
	return d, nil
}

// UnregisterDevice removes user's token and reports whether they had it.
func (s *Service) UnregisterDevice(ctx context.Context, user uuid.UUID, token string) (bool, error) {
	n, err := s.q.DeleteDevice(ctx, store.DeleteDeviceParams{UserID: user, Token: strings.TrimSpace(token)})
	if err != nil {
		return false, fmt.Errorf("unregister device: %w", err)
	}
	return n > 0, nil
}

// Devices lists user's push devices.
func (s *Service) Devices(ctx context.Context, user uuid.UUID) ([]store.PushDevice, error) {
	d, err := s.q.ListDevices(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return d, nil
}

// BroadcastInput is what STAFF sends.
type BroadcastInput struct {
	Title string
	Body  string
	Link  *string
	// Role limits the audience to holders of a role; nil is everyone.
	Role *string
}

// Size limits, as tasks.NotificationDeliver checks them.
const (
	maxTitle = 200
	maxBody  = 10_000
	maxLink  = 2_000
)

// RequestBroadcast records a broadcast and, in the same transaction, the
// task that fans it out; the worker delivers it in batches.
func (s *Service) RequestBroadcast(ctx context.Context, sender uuid.UUID, in BroadcastInput) (store.Broadcast, error) {
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "":
		return store.Broadcast{}, apperr.BadInput("title", "title is required")
	case len(in.Title) > maxTitle:
		return store.Broadcast{}, apperr.BadInput("title", fmt.Sprintf("title must be at most %d bytes", maxTitle))
	case len(in.Body) > maxBody:
		return store.Broadcast{}, apperr.BadInput("body", fmt.Sprintf("body must be at most %d bytes", maxBody))
	case in.Link != nil && len(*in.Link) > maxLink:
		return store.Broadcast{}, apperr.BadInput("link", fmt.Sprintf("link must be at most %d bytes", maxLink))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Broadcast{}, err
	}
	var b store.Broadcast
	err = pg.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		b, err = s.q.WithTx(tx).InsertBroadcast(ctx, store.InsertBroadcastParams{
			ID: id, SenderID: sender, Role: in.Role, Title: in.Title, Body: in.Body, Link: in.Link,
		})
		if err != nil {
			return err
		}
		// Bulk work goes to the low-priority queue, so a broadcast to every
		// user never delays anyone's own notifications.
		_, err = outbox.Add(ctx, tx, TypeBroadcast, BroadcastBatch{BroadcastID: id.String()},
			outbox.WithID(id), outbox.WithQueue(tasks.QueueLow))
		return err
	})
	if err != nil {
		return store.Broadcast{}, fmt.Errorf("request broadcast: %w", err)
	}
	return b, nil
}
