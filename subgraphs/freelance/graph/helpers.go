package graph

import (
	"context"

	"github.com/google/uuid"

	"supergraph/platform/gqlserver"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/freelance/gigs"
	"supergraph/subgraphs/freelance/graph/model"
)

func firstOf(first *int32) (int, error) { return paging.First(first, defaultFirst) }

// userUUID parses a User reference's id; a malformed one (the router passes
// whatever another subgraph returned) matches nothing.
func userUUID(u *model.User) (uuid.UUID, bool) {
	id, err := uuid.Parse(u.ID)
	return id, err == nil
}

// visibleGig loads a gig and answers null when the caller may not see it.
func (r *Resolver) visibleGig(ctx context.Context, id uuid.UUID) (*model.Gig, error) {
	g, err := r.loaders(ctx).Gig.Load(ctx, id)
	if err != nil || g == nil || !gigs.CanSeeGig(identity.FromContext(ctx), *g) {
		return nil, err
	}
	return toGig(r.loaders(ctx), *g), nil
}

// visibleOrder loads an order and answers null unless the caller is a party
// or STAFF: to anyone else an order does not exist.
func (r *Resolver) visibleOrder(ctx context.Context, id uuid.UUID) (*model.Order, error) {
	o, err := r.loaders(ctx).Order.Load(ctx, id)
	if err != nil || o == nil || !gigs.CanSeeOrder(identity.FromContext(ctx), *o) {
		return nil, err
	}
	return toOrder(*o), nil
}

// orderTransition parses the id and runs one order mutation as the caller.
func (r *mutationResolver) orderTransition(ctx context.Context, id string, fn func(identity.Principal, uuid.UUID) (gigs.Order, error)) (*model.Order, error) {
	orderID, err := gqlserver.ParseID("id", id)
	if err != nil {
		return nil, err
	}
	o, err := fn(identity.FromContext(ctx), orderID)
	if err != nil {
		return nil, err
	}
	return toOrder(o), nil
}

func portfolioInput(in model.PortfolioItemInput) (gigs.PortfolioInput, error) {
	gig, err := gqlserver.OptionalID("gigId", in.GigID)
	if err != nil {
		return gigs.PortfolioInput{}, err
	}
	out := gigs.PortfolioInput{Title: in.Title, ImageURL: in.ImageURL, ProjectURL: in.ProjectURL, GigID: gig}
	if in.Description != nil {
		out.Description = *in.Description
	}
	return out, nil
}
