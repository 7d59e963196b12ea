// Package graph holds the freelance subgraph's resolvers: thin adapters from
// GraphQL to the gigs service, reading nested data through the request's
// loaders.
package graph

import (
	"github.com/google/uuid"

	"supergraph/platform/paging"
	"supergraph/subgraphs/freelance/gigs"
	"supergraph/subgraphs/freelance/graph/model"
)

// Resolver is the root resolver; gqlgen's generated code calls into it.
type Resolver struct {
	// Domain is the subgraph's domain service; resolvers call nothing else.
	Domain *gigs.Service
}

// defaultFirst is the page size of lists whose schema default is absent.
const defaultFirst = gigs.DefaultFirst

func user(id uuid.UUID) model.User { return model.User{ID: id.String()} }

// toGig maps a gig row; l resolves its packages and category later.
func toGig(l *Loaders, g gigs.Gig) *model.Gig {
	m := &model.Gig{}
	setGig(m, l, g)
	return m
}

func setGig(m *model.Gig, l *Loaders, g gigs.Gig) {
	*m = model.Gig{
		UUID: g.ID, ID: g.ID.String(), Title: g.Title, Description: g.Description, CategoryID: g.CategoryID,
		Freelancer: user(g.FreelancerID), Tags: g.Tags, StartingPriceCents: g.MinPriceCents, Currency: g.Currency,
		Status: model.GigStatus(g.Status), Rating: gigs.Rating(g.RatingSum, g.ReviewCount), ReviewCount: g.ReviewCount,
		Deleted: g.DeletedAt != nil, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, Fields: l,
	}
}

func toPackage(p gigs.Package, currency string) model.GigPackage {
	return model.GigPackage{
		Tier: model.PackageTier(p.Tier), Title: p.Title, Description: p.Description, PriceCents: p.PriceCents,
		Currency: currency, DeliveryDays: p.DeliveryDays, Revisions: p.Revisions, Features: p.Features,
	}
}

func toOrder(o gigs.Order) *model.Order {
	return &model.Order{
		UUID: o.ID, ID: o.ID.String(), GigID: o.GigID, Tier: model.PackageTier(o.Tier), GigTitle: o.GigTitle,
		PackageTitle: o.PackageTitle, Buyer: user(o.BuyerID), Freelancer: user(o.FreelancerID),
		PriceCents: o.PriceCents, Currency: o.Currency, Requirements: o.Requirements,
		Status: model.OrderStatus(o.Status), DueAt: o.DueAt, RevisionsAllowed: o.RevisionsAllowed,
		RevisionsUsed: o.RevisionsUsed, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		DeliveredAt: o.DeliveredAt, CompletedAt: o.CompletedAt, CancelledAt: o.CancelledAt,
	}
}

func toEvent(e gigs.Event) model.OrderEvent {
	ev := model.OrderEvent{Status: model.OrderStatus(e.ToStatus), Message: e.Message, At: e.CreatedAt}
	if e.FromStatus != nil {
		from := model.OrderStatus(*e.FromStatus)
		ev.FromStatus = &from
	}
	if e.ActorID != nil {
		actor := user(*e.ActorID)
		ev.Actor = &actor
	}
	return ev
}

func toReview(r gigs.Review) *model.Review {
	return &model.Review{
		ID: r.ID.String(), GigID: r.GigID, Buyer: user(r.BuyerID), Rating: r.Rating, Comment: r.Comment,
		Reply: r.Reply, RepliedAt: r.RepliedAt, CreatedAt: r.CreatedAt,
	}
}

func toPortfolio(i gigs.Portfolio) *model.PortfolioItem {
	return &model.PortfolioItem{
		ID: i.ID.String(), Freelancer: user(i.FreelancerID), Title: i.Title, Description: i.Description,
		ImageURL: i.ImageUrl, ProjectURL: i.ProjectUrl, GigID: i.GigID, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
	}
}

func toCategory(c gigs.Category) *model.GigCategory {
	return &model.GigCategory{UUID: c.ID, ID: c.ID.String(), Slug: c.Slug, Name: c.Name, ParentID: c.ParentID}
}

func pageInfo(cursors []string, hasNext bool) model.PageInfo {
	info := model.PageInfo{HasNextPage: hasNext}
	if len(cursors) > 0 {
		info.StartCursor, info.EndCursor = &cursors[0], &cursors[len(cursors)-1]
	}
	return info
}

func gigConnection(l *Loaders, p paging.Page[gigs.Gig]) *model.GigConnection {
	c := &model.GigConnection{Edges: make([]model.GigEdge, len(p.Items)), PageInfo: pageInfo(p.Cursors, p.HasNext)}
	for i, g := range p.Items {
		c.Edges[i].Cursor = p.Cursors[i]
		setGig(&c.Edges[i].Node, l, g)
	}
	return c
}

// listingConnection is a catalogue page: its gigs carry their packages.
func listingConnection(l *Loaders, p paging.Page[gigs.Listing]) *model.GigConnection {
	c := &model.GigConnection{Edges: make([]model.GigEdge, len(p.Items)), PageInfo: pageInfo(p.Cursors, p.HasNext)}
	n := 0
	for _, g := range p.Items {
		n += len(g.Packages)
	}
	pkgs := make([]model.GigPackage, n) // one allocation for the page's packages
	for i, g := range p.Items {
		e := &c.Edges[i]
		e.Cursor = p.Cursors[i]
		setGig(&e.Node, l, g.Gig)
		e.Node.Listed = pkgs[:len(g.Packages):len(g.Packages)]
		for j, pkg := range g.Packages {
			e.Node.Listed[j] = toPackage(pkg, g.Currency)
		}
		pkgs = pkgs[len(g.Packages):]
	}
	return c
}

func orderConnection(p paging.Page[gigs.Order]) *model.OrderConnection {
	c := &model.OrderConnection{Edges: make([]model.OrderEdge, len(p.Items)), PageInfo: pageInfo(p.Cursors, p.HasNext)}
	for i, o := range p.Items {
		c.Edges[i] = model.OrderEdge{Cursor: p.Cursors[i], Node: *toOrder(o)}
	}
	return c
}

func reviewConnection(p paging.Page[gigs.Review]) *model.ReviewConnection {
	c := &model.ReviewConnection{Edges: make([]model.ReviewEdge, len(p.Items)), PageInfo: pageInfo(p.Cursors, p.HasNext)}
	for i, r := range p.Items {
		c.Edges[i] = model.ReviewEdge{Cursor: p.Cursors[i], Node: *toReview(r)}
	}
	return c
}

func portfolioConnection(p paging.Page[gigs.Portfolio]) *model.PortfolioItemConnection {
	c := &model.PortfolioItemConnection{Edges: make([]model.PortfolioItemEdge, len(p.Items)), PageInfo: pageInfo(p.Cursors, p.HasNext)}
	for i, it := range p.Items {
		c.Edges[i] = model.PortfolioItemEdge{Cursor: p.Cursors[i], Node: *toPortfolio(it)}
	}
	return c
}

func toPackageInputs(in []model.GigPackageInput) []gigs.PackageInput {
	out := make([]gigs.PackageInput, len(in))
	for i, p := range in {
		out[i] = gigs.PackageInput{
			Tier: gigs.PackageTier(p.Tier), Title: p.Title, PriceCents: p.PriceCents,
			DeliveryDays: p.DeliveryDays, Revisions: p.Revisions, Features: p.Features,
		}
		if p.Description != nil {
			out[i].Description = *p.Description
		}
	}
	return out
}

func pageArgs(first *int32, after *string) (int, string, error) {
	n, err := firstOf(first)
	if err != nil {
		return 0, "", err
	}
	a := ""
	if after != nil {
		a = *after
	}
	return n, a, nil
}
