package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"supergraph/platform/dataload"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/freelance/gigs"
	"supergraph/subgraphs/freelance/graph/model"
)

// loaderWait is how long a loader collects keys before it queries. gqlgen
// resolves a list's elements in parallel goroutines that all ask within
// microseconds; a short window keeps latency low and still catches them.
const loaderWait = 2 * time.Millisecond

// pageKey asks for one page of a nested list (see dataload.Pages).
type pageKey = dataload.PageKey[uuid.UUID]

// Loaders batch and cache the reads of one request, so nested lists and
// entity lookups cost one statement per kind and level, not one per parent.
type Loaders struct {
	Gig            *dataloadgen.Loader[uuid.UUID, *gigs.Gig]
	Packages       *dataloadgen.Loader[uuid.UUID, []gigs.Package]
	Order          *dataloadgen.Loader[uuid.UUID, *gigs.Order]
	Timeline       *dataloadgen.Loader[uuid.UUID, []gigs.Event]
	OrderReview    *dataloadgen.Loader[uuid.UUID, *gigs.Review]
	GigReviews     *dataloadgen.Loader[pageKey, paging.Page[gigs.Review]]
	FreelancerGigs *dataloadgen.Loader[pageKey, paging.Page[gigs.Gig]]
	Portfolio      *dataloadgen.Loader[pageKey, paging.Page[gigs.Portfolio]]
	Stats          *dataloadgen.Loader[uuid.UUID, gigs.Stats]
	// Categories reads the whole (small) tree once per request.
	Categories func() (*categoryTree, error)
	// ctx is the operation's: model.Gig's packages and category, which
	// gqlgen resolves without a context (see model.GigFields), load in it.
	ctx context.Context
}

// GigPackages implements model.GigFields: the gig's packages through the
// batching loader.
func (l *Loaders) GigPackages(g *model.Gig) ([]model.GigPackage, error) {
	pkgs, err := l.Packages.Load(l.ctx, g.UUID)
	if err != nil {
		return nil, err
	}
	out := make([]model.GigPackage, len(pkgs))
	for i, p := range pkgs {
		out[i] = toPackage(p, g.Currency)
	}
	return out, nil
}

// GigCategory implements model.GigFields: the gig's category from the
// request's copy of the tree.
func (l *Loaders) GigCategory(g *model.Gig) (*model.GigCategory, error) {
	tree, err := l.Categories()
	if err != nil {
		return nil, err
	}
	c, ok := tree.byID[g.CategoryID]
	if !ok {
		return nil, fmt.Errorf("gig %s: category %s missing", g.ID, g.CategoryID)
	}
	return toCategory(c), nil
}

// NewLoaders returns the loaders of one request.
func NewLoaders(svc *gigs.Service) *Loaders {
	opts := []dataloadgen.Option{dataloadgen.WithWait(loaderWait)}
	return &Loaders{
		Gig:         dataloadgen.NewLoader(dataload.ByID(svc.Gigs), opts...),
		Packages:    dataloadgen.NewLoader(dataload.Values(svc.Packages), opts...),
		Order:       dataloadgen.NewLoader(dataload.ByID(svc.Orders), opts...),
		Timeline:    dataloadgen.NewLoader(dataload.Values(svc.Timelines), opts...),
		OrderReview: dataloadgen.NewLoader(dataload.ByID(svc.ReviewsByOrders), opts...),
		GigReviews:  dataloadgen.NewLoader(dataload.Pages(svc.ReviewsByGigs), opts...),
		FreelancerGigs: dataloadgen.NewLoader(dataload.Pages(func(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[gigs.Gig], error) {
			// The viewer decides which drafts show; every Load of one
			// operation carries the same principal.
			return svc.GigsByFreelancers(ctx, identity.FromContext(ctx), ids, first, after)
		}), opts...),
		Portfolio: dataloadgen.NewLoader(dataload.Pages(svc.PortfolioByFreelancers), opts...),
		Stats:     dataloadgen.NewLoader(dataload.Values(svc.FreelancerStats), opts...),
		Categories: sync.OnceValues(func() (*categoryTree, error) {
			// Not the request's context: OnceValues has none to give, and
			// the read is short and bounded.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rows, err := svc.Categories(ctx)
			if err != nil {
				return nil, err
			}
			return newCategoryTree(rows), nil
		}),
	}
}

// PerOperation installs fresh loaders in each operation's context
// (gqlserver.Options.PerOperation): caches never outlive an operation.
func PerOperation(svc *gigs.Service) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		l := NewLoaders(svc)
		ctx = dataload.With(ctx, l)
		l.ctx = ctx
		return ctx
	}
}

func (r *Resolver) loaders(ctx context.Context) *Loaders { return dataload.From[Loaders](ctx) }

// categoryTree is the category tree indexed for parent and child lookups.
type categoryTree struct {
	all      []gigs.Category
	byID     map[uuid.UUID]gigs.Category
	children map[uuid.UUID][]gigs.Category
}

func newCategoryTree(rows []gigs.Category) *categoryTree {
	t := &categoryTree{byID: map[uuid.UUID]gigs.Category{}, children: map[uuid.UUID][]gigs.Category{}}
	// Parents before children: breadth-first from the roots, each level in
	// position order (rows come sorted by position).
	for _, c := range rows {
		t.byID[c.ID] = c
		if c.ParentID != nil {
			t.children[*c.ParentID] = append(t.children[*c.ParentID], c)
		}
	}
	var queue []gigs.Category
	for _, c := range rows {
		if c.ParentID == nil {
			queue = append(queue, c)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		t.all = append(t.all, c)
		queue = append(queue, t.children[c.ID]...)
	}
	return t
}
