// Package graph holds the content subgraph's resolvers: thin adapters from
// GraphQL to the community service, reading nested data through the
// request's loaders.
package graph

import (
	"github.com/google/uuid"

	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/content/community"
	"supergraph/subgraphs/content/graph/model"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *community.Service
}

func firstOf(first *int32) (int, error) { return paging.First(first, community.DefaultFirst) }

func user(id uuid.UUID) *model.User { return &model.User{ID: id.String()} }

func toChannel(c community.Channel) *model.Channel {
	return &model.Channel{
		UUID: c.ID, ID: c.ID.String(), Slug: c.Slug, Name: c.Name, Description: c.Description,
		Visibility: model.ChannelVisibility(c.Visibility), Owner: user(c.OwnerID), MemberCount: c.MemberCount,
		PostCount: c.PostCount, PostingRestricted: c.PostingRestricted, ArchivedAt: c.ArchivedAt,
		LastPostAt: c.LastPostAt, CreatedAt: c.CreatedAt,
	}
}

func toPost(p community.Post) *model.Post {
	return &model.Post{
		UUID: p.ID, ID: p.ID.String(), ChannelID: p.ChannelID, AuthorID: p.AuthorID, Author: user(p.AuthorID),
		Title: p.Title, Body: p.Body, Status: model.PostStatus(p.Status), Pinned: p.PinnedAt != nil,
		LikeCount: p.LikeCount, CommentCount: p.CommentCount, Hidden: p.HiddenAt != nil, Reason: p.HiddenReason,
		EditedAt: p.EditedAt, PublishedAt: p.PublishedAt, CreatedAt: p.CreatedAt,
	}
}

func toComment(c community.Comment) *model.Comment {
	m := &model.Comment{
		UUID: c.ID, ID: c.ID.String(), PostID: c.PostID, ParentID: c.ParentID, AuthorID: c.AuthorID, Path: c.Path,
		Author: user(c.AuthorID), Body: c.Body, Deleted: c.DeletedAt != nil, Depth: c.Depth,
		ReplyCount: c.ReplyCount, LikeCount: c.LikeCount, Hidden: c.HiddenAt != nil, Reason: c.HiddenReason,
		EditedAt: c.EditedAt, CreatedAt: c.CreatedAt,
	}
	if m.Deleted {
		m.Author = nil
	}
	return m
}

func toMember(p identity.Principal, m community.Membership) *model.ChannelMember {
	out := &model.ChannelMember{ChannelID: m.ChannelID, User: user(m.UserID), Status: model.MembershipStatus(m.Status), Since: m.Since}
	if m.Role != nil {
		out.Role = (*model.ChannelRole)(m.Role)
	}
	if m.UserID.String() == p.UserID {
		out.NotifyOnPost = &m.NotifyOnPost
	}
	return out
}

func pageInfo[T any](p paging.Page[T]) model.PageInfo {
	info := model.PageInfo{HasNextPage: p.HasNext, HasPreviousPage: p.HasPrevious}
	if len(p.Cursors) > 0 {
		info.StartCursor, info.EndCursor = &p.Cursors[0], &p.Cursors[len(p.Cursors)-1]
	}
	return info
}

func channelConnection(p paging.Page[community.Channel]) *model.ChannelConnection {
	c := &model.ChannelConnection{Edges: make([]model.ChannelEdge, len(p.Items)), PageInfo: pageInfo(p)}
	for i, ch := range p.Items {
		c.Edges[i] = model.ChannelEdge{Cursor: p.Cursors[i], Node: *toChannel(ch)}
	}
	return c
}

func postConnection(p paging.Page[community.Post]) *model.PostConnection {
	c := &model.PostConnection{Edges: make([]model.PostEdge, len(p.Items)), PageInfo: pageInfo(p)}
	for i, post := range p.Items {
		c.Edges[i] = model.PostEdge{Cursor: p.Cursors[i], Node: *toPost(post)}
	}
	return c
}

func commentConnection(p paging.Page[community.Comment]) *model.CommentConnection {
	c := &model.CommentConnection{Edges: make([]model.CommentEdge, len(p.Items)), PageInfo: pageInfo(p)}
	for i, cm := range p.Items {
		c.Edges[i] = model.CommentEdge{Cursor: p.Cursors[i], Node: *toComment(cm)}
	}
	return c
}

func memberConnection(pr identity.Principal, p paging.Page[community.Membership]) *model.ChannelMemberConnection {
	c := &model.ChannelMemberConnection{Edges: make([]model.ChannelMemberEdge, len(p.Items)), PageInfo: pageInfo(p)}
	for i, m := range p.Items {
		c.Edges[i] = model.ChannelMemberEdge{Cursor: p.Cursors[i], Node: *toMember(pr, m)}
	}
	return c
}

func posts(in []community.Post) []model.Post {
	out := make([]model.Post, len(in))
	for i, p := range in {
		out[i] = *toPost(p)
	}
	return out
}
