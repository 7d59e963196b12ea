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
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"supergraph/platform/apperr"
	"supergraph/platform/identity"
	"supergraph/platform/outbox"
	"supergraph/platform/paging"
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

// Preferences returns user's preferences (the defaults when never set), for
// the platform's own use (the worker); UserPreferences is the caller-checked
// read.
func (s *Service) Preferences(ctx context.Context, user uuid.UUID) (Preferences, error) {
	return preferences(ctx, s.q, user)
}

// UserPreferences returns user's preferences to user themself.
func (s *Service) UserPreferences(ctx context.Context, p identity.Principal, user uuid.UUID) (Preferences, error) {
	me, err := self(p, user)
	if err != nil {
		return Preferences{}, err
	}
	return s.Preferences(ctx, me)
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

// UpdatePreferences applies in to the caller's preferences.
func (s *Service) UpdatePreferences(ctx context.Context, p identity.Principal, in PreferencesInput) (Preferences, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Preferences{}, err
	}
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
	row, err := s.q.UpdatePreferences(ctx, store.UpdatePreferencesParams{
		UserID: user, Email: in.Email, InApp: in.InApp, Push: in.Push, MutedKinds: muted,
	})
	if err != nil {
		return Preferences{}, fmt.Errorf("update preferences: %w", err)
	}
	return toPreferences(row), nil
}

// defaultFirst is the page size when the client gives none.
const defaultFirst = 20

// UserNotifications returns one page of user's notifications, newest first,
// to user themself. after is the previous page's last cursor.
func (s *Service) UserNotifications(ctx context.Context, p identity.Principal, user uuid.UUID, first *int32, after *string, unreadOnly bool) (paging.Page[Notification], error) {
	me, err := self(p, user)
	if err != nil {
		return paging.Page[Notification]{}, err
	}
	n, err := paging.First(first, defaultFirst)
	if err != nil {
		return paging.Page[Notification]{}, err
	}
	before, err := decodeSeqCursor(after)
	if err != nil {
		return paging.Page[Notification]{}, err
	}
	// One extra row tells whether there is a next page.
	rows, err := s.q.ListNotifications(ctx, store.ListNotificationsParams{
		RecipientID: me, UnreadOnly: unreadOnly, BeforeSeq: before, MaxRows: int32(n + 1),
	})
	if err != nil {
		return paging.Page[Notification]{}, fmt.Errorf("list notifications: %w", err)
	}
	page := paging.Cut(toNotifications(rows), n, func(n Notification) paging.Cursor {
		return paging.Cursor{Key: strconv.FormatInt(n.Seq, 10), ID: n.ID}
	})
	page.HasPrevious = before != nil
	return page, nil
}

// decodeSeqCursor reads an `after` over a user's notifications: their seq.
func decodeSeqCursor(after *string) (*int64, error) {
	c, err := paging.Decode(after)
	if err != nil || c == nil {
		return nil, err
	}
	seq, err := strconv.ParseInt(c.Key, 10, 64)
	if err != nil {
		return nil, apperr.BadInput("after", "after is not a valid cursor")
	}
	return &seq, nil
}

// OwnNotifications returns, in the order of ids, the caller's notifications
// among them; nil for ids that are unknown, not in-app or someone else's, and
// all nil for an anonymous caller.
func (s *Service) OwnNotifications(ctx context.Context, p identity.Principal, ids []uuid.UUID) ([]*Notification, error) {
	out := make([]*Notification, len(ids))
	me, err := p.SignedIn()
	if err != nil {
		return out, nil
	}
	rows, err := s.q.GetNotifications(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("get notifications: %w", err)
	}
	found := make(map[uuid.UUID]store.Notification, len(rows))
	for _, n := range rows {
		found[n.ID] = n
	}
	for i, id := range ids {
		if n, ok := found[id]; ok && n.RecipientID == me {
			dn := toNotification(n)
			out[i] = &dn
		}
	}
	return out, nil
}

// Notification returns one stored notification, for the platform's own use
// (the worker renders it); NOT_FOUND when there is none (purged meanwhile).
func (s *Service) Notification(ctx context.Context, id uuid.UUID) (Notification, error) {
	n, err := s.q.GetNotification(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, apperr.NotFound("notification")
	}
	if err != nil {
		return Notification{}, fmt.Errorf("get notification: %w", err)
	}
	return toNotification(n), nil
}

// UserUnreadCount counts user's unread notifications for user themself.
func (s *Service) UserUnreadCount(ctx context.Context, p identity.Principal, user uuid.UUID) (int64, error) {
	me, err := self(p, user)
	if err != nil {
		return 0, err
	}
	return s.CountUnread(ctx, me)
}

// CountUnread counts user's unread notifications, for the platform's own
// use; UserUnreadCount is the caller-checked read.
func (s *Service) CountUnread(ctx context.Context, user uuid.UUID) (int64, error) {
	n, err := s.q.CountUnread(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of the caller's notifications read. Someone else's is
// FORBIDDEN; an unknown id NOT_FOUND.
func (s *Service) MarkRead(ctx context.Context, p identity.Principal, id uuid.UUID) (Notification, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Notification{}, err
	}
	n, err := s.q.MarkRead(ctx, store.MarkReadParams{ID: id, RecipientID: user})
	if err == nil {
		return toNotification(n), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, fmt.Errorf("mark read: %w", err)
	}
	other, err := s.q.GetNotification(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && !other.InApp):
		return Notification{}, apperr.NotFound("notification")
	case err != nil:
		return Notification{}, fmt.Errorf("mark read: %w", err)
	default:
		return Notification{}, apperr.Forbidden("this notification is someone else's")
	}
}

// MarkAllRead marks every unread notification of the caller read and
// returns how many.
func (s *Service) MarkAllRead(ctx context.Context, p identity.Principal) (int64, error) {
	user, err := p.SignedIn()
	if err != nil {
		return 0, err
	}
	n, err := s.q.MarkAllRead(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	return n, nil
}

// Push platforms (the schema's PushPlatform).
var platforms = []string{"IOS", "ANDROID", "WEB"}

const maxTokenLength = 4096

// RegisterDevice registers token (one app installation) for the caller, or
// refreshes their own registration of it. A token registered to another
// user is refused with CONFLICT, never moved: whoever learnt it would
// otherwise receive that user's pushes.
func (s *Service) RegisterDevice(ctx context.Context, p identity.Principal, token, platform string) (Device, error) {
	user, err := p.SignedIn()
	if err != nil {
		return Device{}, err
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLength {
		return Device{}, apperr.BadInput("token", fmt.Sprintf("token must be 1 to %d characters", maxTokenLength))
	}
	if !slices.Contains(platforms, platform) {
		return Device{}, apperr.BadInput("platform", "unknown platform")
	}
	d, err := s.q.UpsertDevice(ctx, store.UpsertDeviceParams{ID: uuid.New(), UserID: user, Token: token, Platform: platform})
	if errors.Is(err, pgx.ErrNoRows) {
		// Moving it silently would hand someone else's pushes to whoever
		// learnt the token; the app unregisters it when its user signs out.
		return Device{}, apperr.Conflict("token", "this push token is registered to another account: it must be unregistered there first")
	}
	if err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	return toDevice(d), nil
}

// UnregisterDevice removes the caller's token and reports whether they had it.
func (s *Service) UnregisterDevice(ctx context.Context, p identity.Principal, token string) (bool, error) {
	user, err := p.SignedIn()
	if err != nil {
		return false, err
	}
	n, err := s.q.DeleteDevice(ctx, store.DeleteDeviceParams{UserID: user, Token: strings.TrimSpace(token)})
	if err != nil {
		return false, fmt.Errorf("unregister device: %w", err)
	}
	return n > 0, nil
}

// UserDevices lists user's push devices to user themself.
func (s *Service) UserDevices(ctx context.Context, p identity.Principal, user uuid.UUID) ([]Device, error) {
	me, err := self(p, user)
	if err != nil {
		return nil, err
	}
	return s.Devices(ctx, me)
}

// Devices lists user's push devices, for the platform's own use.
func (s *Service) Devices(ctx context.Context, user uuid.UUID) ([]Device, error) {
	d, err := s.q.ListDevices(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return toDevices(d), nil
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

// RequestBroadcast records a broadcast from STAFF and, in the same
// transaction, the task that fans it out; the worker delivers it in batches.
func (s *Service) RequestBroadcast(ctx context.Context, p identity.Principal, in BroadcastInput) (Broadcast, error) {
	sender, err := p.SignedIn()
	if err != nil {
		return Broadcast{}, err
	}
	if !p.IsStaff() {
		return Broadcast{}, apperr.Forbidden("only STAFF may broadcast")
	}
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "":
		return Broadcast{}, apperr.BadInput("title", "title is required")
	case len(in.Title) > maxTitle:
		return Broadcast{}, apperr.BadInput("title", fmt.Sprintf("title must be at most %d bytes", maxTitle))
	case len(in.Body) > maxBody:
		return Broadcast{}, apperr.BadInput("body", fmt.Sprintf("body must be at most %d bytes", maxBody))
	case in.Link != nil && len(*in.Link) > maxLink:
		return Broadcast{}, apperr.BadInput("link", fmt.Sprintf("link must be at most %d bytes", maxLink))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Broadcast{}, err
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
		return Broadcast{}, fmt.Errorf("request broadcast: %w", err)
	}
	return toBroadcast(b), nil
}
