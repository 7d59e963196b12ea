// Package graph holds the notifications subgraph's resolvers: thin adapters
// from GraphQL to the notify service.
package graph

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"supergraph/platform/apperr"
	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/notifications/graph/model"
	"supergraph/subgraphs/notifications/notify"
	"supergraph/subgraphs/notifications/store"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *notify.Service
}

// signedIn returns the caller's user id, or UNAUTHENTICATED.
func signedIn(ctx context.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(identity.FromContext(ctx).UserID)
	if err != nil {
		return uuid.Nil, apperr.Unauthenticated("sign in to do this")
	}
	return id, nil
}

// self checks that the caller is the user whose private field is read:
// anonymous callers are UNAUTHENTICATED, anyone else FORBIDDEN (STAFF too:
// notifications are private).
func self(ctx context.Context, user *model.User) (uuid.UUID, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	if user.ID != me.String() {
		return uuid.Nil, apperr.Forbidden("only the user themself may read this")
	}
	return me, nil
}

func toNotification(n store.Notification) *model.Notification {
	var data model.JSON
	if len(n.Data) > 0 {
		// Stored by Deliver from a map, so it is an object.
		_ = json.Unmarshal(n.Data, &data)
	}
	return &model.Notification{
		ID: n.ID.String(), Kind: n.Kind, Title: n.Title, Body: n.Body, Link: n.Link, Data: data,
		ReadAt: n.ReadAt, CreatedAt: n.CreatedAt, Recipient: model.User{ID: n.RecipientID.String()},
		EmailStatus: model.DeliveryStatus(n.EmailStatus), PushStatus: model.DeliveryStatus(n.PushStatus),
	}
}

func toPreferences(p notify.Preferences) *model.NotificationPreferences {
	muted := p.MutedKinds
	if muted == nil {
		muted = []string{}
	}
	return &model.NotificationPreferences{Email: p.Email, InApp: p.InApp, Push: p.Push, MutedKinds: muted}
}

func toDevice(d store.PushDevice) model.PushDevice {
	return model.PushDevice{ID: d.ID.String(), Token: d.Token, Platform: model.PushPlatform(d.Platform), CreatedAt: d.CreatedAt}
}

// seqCursor is a keyset position in a user's notifications: their seq.
func seqCursor(n store.Notification) string {
	return paging.Cursor{Key: strconv.FormatInt(n.Seq, 10), ID: n.ID}.Encode()
}

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

func (r *Resolver) notifications(ctx context.Context, user uuid.UUID, first *int32, after *string, unreadOnly bool) (*model.NotificationConnection, error) {
	n, err := paging.First(first, 20)
	if err != nil {
		return nil, err
	}
	before, err := decodeSeqCursor(after)
	if err != nil {
		return nil, err
	}
	// One extra row tells whether there is a next page.
	rows, err := r.Domain.List(ctx, user, unreadOnly, n+1, before)
	if err != nil {
		return nil, err
	}
	conn := &model.NotificationConnection{Edges: []model.NotificationEdge{}, PageInfo: model.PageInfo{
		HasNextPage: len(rows) > n, HasPreviousPage: before != nil,
	}}
	if len(rows) > n {
		rows = rows[:n]
	}
	for _, row := range rows {
		conn.Edges = append(conn.Edges, model.NotificationEdge{Cursor: seqCursor(row), Node: *toNotification(row)})
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn, nil
}

// ownNotifications returns the caller's notifications among ids, in order;
// nil for ids that are unknown or someone else's.
func (r *Resolver) ownNotifications(ctx context.Context, ids []string) ([]*model.Notification, error) {
	out := make([]*model.Notification, len(ids))
	me, err := uuid.Parse(identity.FromContext(ctx).UserID)
	if err != nil {
		return out, nil
	}
	parsed := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			parsed = append(parsed, u)
		}
	}
	found, err := r.Domain.Notifications(ctx, parsed)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			if n, ok := found[u]; ok && n.RecipientID == me {
				out[i] = toNotification(n)
			}
		}
	}
	return out, nil
}

func (r *Resolver) stream(ctx context.Context, after *string) (<-chan *model.Notification, error) {
	me, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	var afterID *uuid.UUID
	if after != nil {
		id, err := gqlserver.ParseID("after", *after)
		if err != nil {
			return nil, err
		}
		afterID = &id
	}
	return notify.Stream(ctx, r.Domain, me, afterID, toNotification)
}
