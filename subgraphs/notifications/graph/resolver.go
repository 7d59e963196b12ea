// Package graph holds the notifications subgraph's resolvers: thin adapters
// from GraphQL to the notify service.
package graph

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/notifications/graph/model"
	"supergraph/subgraphs/notifications/notify"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *notify.Service
}

// userID is the key of a User entity; a malformed one is uuid.Nil, which is
// nobody's (the domain answers FORBIDDEN).
func userID(u *model.User) uuid.UUID {
	id, _ := uuid.Parse(u.ID)
	return id
}

func toNotification(n notify.Notification) *model.Notification {
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

func toDevice(d notify.Device) model.PushDevice {
	return model.PushDevice{ID: d.ID.String(), Token: d.Token, Platform: model.PushPlatform(d.Platform), CreatedAt: d.CreatedAt}
}

func notificationConnection(p paging.Page[notify.Notification]) *model.NotificationConnection {
	conn := &model.NotificationConnection{
		Edges:    make([]model.NotificationEdge, len(p.Items)),
		PageInfo: model.PageInfo{HasNextPage: p.HasNext, HasPreviousPage: p.HasPrevious},
	}
	for i, n := range p.Items {
		conn.Edges[i] = model.NotificationEdge{Cursor: p.Cursors[i], Node: *toNotification(n)}
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	return conn
}

// ownNotifications returns the caller's notifications among ids, in order;
// nil for ids that are malformed, unknown or someone else's.
func (r *Resolver) ownNotifications(ctx context.Context, ids []string) ([]*model.Notification, error) {
	parsed := make([]uuid.UUID, len(ids))
	for i, id := range ids {
		parsed[i], _ = uuid.Parse(id) // a malformed id stays uuid.Nil and matches nothing
	}
	found, err := r.Domain.OwnNotifications(ctx, identity.FromContext(ctx), parsed)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Notification, len(ids))
	for i, n := range found {
		if n != nil {
			out[i] = toNotification(*n)
		}
	}
	return out, nil
}

func (r *Resolver) stream(ctx context.Context, after *string) (<-chan *model.Notification, error) {
	afterID, err := gqlserver.OptionalID("after", after)
	if err != nil {
		return nil, err
	}
	return notify.Stream(ctx, r.Domain, identity.FromContext(ctx), afterID, toNotification)
}
