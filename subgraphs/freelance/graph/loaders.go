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

// pageKey asks for one page of a nested list: the parent's id and the page
// arguments. Keys with the same arguments are fetched in one statement.
type pageKey struct {
	ID    uuid.UUID
	First int
	After string
}

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
		Gig: dataloadgen.NewLoader(byID(svc.Gigs), opts...),
		Packages: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([][]gigs.Package, []error) {
			return listByID(ctx, ids, svc.Packages)
		}, opts...),
		Order: dataloadgen.NewLoader(byID(svc.Orders), opts...),
		Timeline: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([][]gigs.Event, []error) {
			return listByID(ctx, ids, svc.Timelines)
		}, opts...),
		OrderReview: dataloadgen.NewLoader(byID(svc.ReviewsByOrders), opts...),
		GigReviews:  dataloadgen.NewLoader(pages(svc.ReviewsByGigs), opts...),
		FreelancerGigs: dataloadgen.NewLoader(pages(func(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[gigs.Gig], error) {
			// The viewer decides which drafts show; every Load of one
			// operation carries the same principal.
			return svc.GigsByFreelancers(ctx, identity.FromContext(ctx), ids, first, after)
		}), opts...),
		Portfolio: dataloadgen.NewLoader(pages(svc.PortfolioByFreelancers), opts...),
		Stats: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]gigs.Stats, []error) {
			m, err := svc.FreelancerStats(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			out := make([]gigs.Stats, len(ids))
			for i, id := range ids {
				out[i] = m[id]
			}
			return out, nil
		}, opts...),
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

// byID adapts a map-returning batch read to a loader answering nil for
// ids that have no row.
func byID[V any](fetch func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error)) func(context.Context, []uuid.UUID) ([]*V, []error) {
	return func(ctx context.Context, ids []uuid.UUID) ([]*V, []error) {
		m, err := fetch(ctx, ids)
		if err != nil {
			return nil, []error{err}
		}
		out := make([]*V, len(ids))
		for i, id := range ids {
			if v, ok := m[id]; ok {
				out[i] = &v
			}
		}
		return out, nil
	}
}

func listByID[V any](ctx context.Context, ids []uuid.UUID, fetch func(context.Context, []uuid.UUID) (map[uuid.UUID][]V, error)) ([][]V, []error) {
	m, err := fetch(ctx, ids)
	if err != nil {
		return nil, []error{err}
	}
	out := make([][]V, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out, nil
}

// pages adapts a batched page read: keys are grouped by their page
// arguments, one statement per group (one in practice: siblings in a query
// share their arguments).
func pages[V any](fetch func(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[V], error)) func(context.Context, []pageKey) ([]paging.Page[V], []error) {
	return func(ctx context.Context, keys []pageKey) ([]paging.Page[V], []error) {
		type args struct {
			first int
			after string
		}
		groups := map[args][]uuid.UUID{}
		for _, k := range keys {
			a := args{k.First, k.After}
			groups[a] = append(groups[a], k.ID)
		}
		results := map[pageKey]paging.Page[V]{}
		for a, ids := range groups {
			var after *string
			if a.after != "" {
				after = &a.after
			}
			m, err := fetch(ctx, ids, a.first, after)
			if err != nil {
				return nil, []error{err}
			}
			for _, id := range ids {
				results[pageKey{id, a.first, a.after}] = m[id]
			}
		}
		out := make([]paging.Page[V], len(keys))
		for i, k := range keys {
			out[i] = results[k]
		}
		return out, nil
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
