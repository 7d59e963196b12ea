package graph

import (
	"context"

	"github.com/google/uuid"

	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/subgraphs/content/community"
	"supergraph/subgraphs/content/graph/model"
)

// userUUID parses a User reference's id; a malformed one (the router passes
// whatever another subgraph returned) matches nothing.
func userUUID(u *model.User) (uuid.UUID, bool) {
	id, err := uuid.Parse(u.ID)
	return id, err == nil
}

// memberAction parses a channel and a user id and runs one membership
// mutation as the caller.
func (r *mutationResolver) memberAction(ctx context.Context, channelID, userID string, fn func(identity.Principal, uuid.UUID, uuid.UUID) (community.Membership, error)) (*model.ChannelMember, error) {
	ch, err := gqlserver.ParseID("channelId", channelID)
	if err != nil {
		return nil, err
	}
	u, err := gqlserver.ParseID("userId", userID)
	if err != nil {
		return nil, err
	}
	p := identity.FromContext(ctx)
	m, err := fn(p, ch, u)
	if err != nil {
		return nil, err
	}
	return toMember(p, m), nil
}

// postAction parses a post id and runs one post mutation as the caller.
func (r *mutationResolver) postAction(ctx context.Context, id string, fn func(identity.Principal, uuid.UUID) (community.Post, error)) (*model.Post, error) {
	postID, err := gqlserver.ParseID("id", id)
	if err != nil {
		return nil, err
	}
	post, err := fn(identity.FromContext(ctx), postID)
	if err != nil {
		return nil, err
	}
	return toPost(post), nil
}

// commentAction parses a comment id and runs one comment mutation as the caller.
func (r *mutationResolver) commentAction(ctx context.Context, id string, fn func(identity.Principal, uuid.UUID) (community.Comment, error)) (*model.Comment, error) {
	commentID, err := gqlserver.ParseID("id", id)
	if err != nil {
		return nil, err
	}
	c, err := fn(identity.FromContext(ctx), commentID)
	if err != nil {
		return nil, err
	}
	return toComment(c), nil
}

// maySeeModeration reports whether the caller sees moderation details of
// content by author in channel.
func (r *Resolver) maySeeModeration(ctx context.Context, channel, author uuid.UUID) (bool, error) {
	st, err := r.loaders(ctx).Standing.Load(ctx, channel)
	if err != nil {
		return false, err
	}
	return community.MaySeeModeration(identity.FromContext(ctx), st, author), nil
}

// moderationNote answers hiddenReason: the reason for those who may see it.
func (r *Resolver) moderationNote(ctx context.Context, post, author uuid.UUID, reason *string) (*string, error) {
	if reason == nil {
		return nil, nil
	}
	p, err := r.loaders(ctx).Post.Load(ctx, post)
	if err != nil || p == nil {
		return nil, err
	}
	ok, err := r.maySeeModeration(ctx, p.ChannelID, author)
	if err != nil || !ok {
		return nil, err
	}
	return reason, nil
}
