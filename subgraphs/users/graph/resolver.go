// Package graph holds the users subgraph's resolvers: thin adapters from
// GraphQL to the account service.
package graph

import (
	"context"
	"errors"

	"supergraph/platform/apperr"
	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/subgraphs/users/account"
	"supergraph/subgraphs/users/graph/model"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *account.Service
}

func toUser(u account.User) *model.User {
	roles := make([]model.Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = model.Role(r)
	}
	return &model.User{
		ID:          u.ID.String(),
		Username:    u.Username,
		DisplayName: u.DisplayName,
		Roles:       roles,
		Profile: model.Profile{
			Bio: u.Bio, AvatarURL: u.AvatarUrl, Location: u.Location, Website: u.Website, Skills: u.Skills,
		},
		CreatedAt:    u.CreatedAt,
		EmailAddress: u.Email,
	}
}

func toAuthPayload(s account.Session) *model.AuthPayload {
	user := toUser(s.User)
	user.OwnSession = true
	return &model.AuthPayload{
		AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, User: *user,
	}
}

// user loads one user by id; unknown ids are null, malformed ones name field.
func (r *queryResolver) user(ctx context.Context, field, id string) (*model.User, error) {
	parsed, err := gqlserver.ParseID(field, id)
	if err != nil {
		return nil, err
	}
	u, err := r.Domain.User(ctx, parsed)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

func (r *mutationResolver) setRole(ctx context.Context, userID string, role model.Role, grant bool) (*model.User, error) {
	id, err := gqlserver.ParseID("userId", userID)
	if err != nil {
		return nil, err
	}
	u, err := r.Domain.SetRole(ctx, identity.FromContext(ctx), id, string(role), grant)
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}
