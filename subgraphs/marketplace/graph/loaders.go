package graph

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"supergraph/platform/dataload"
	"supergraph/platform/identity"
	"supergraph/platform/paging"
	"supergraph/subgraphs/marketplace/shop"
)

// loaderWait is how long a loader collects keys before it queries.
const loaderWait = 2 * time.Millisecond

// Loaders batch and cache the reads of one operation.
type Loaders struct {
	Product   *dataloadgen.Loader[uuid.UUID, *shop.Product]
	Review    *dataloadgen.Loader[uuid.UUID, *shop.Review]
	Favorited *dataloadgen.Loader[uuid.UUID, bool]
	Reviews   *dataloadgen.Loader[dataload.PageKey[uuid.UUID], paging.Page[shop.Review]]
	// SellerProducts pages User.products, one statement for all users.
	SellerProducts *dataloadgen.Loader[dataload.PageKey[uuid.UUID], paging.Page[shop.Product]]
	// Tree reads the (small) category tree once per operation.
	Tree func(context.Context) (*categoryTree, error)
	// Counts reads the products per category subtree once per operation.
	Counts func(context.Context) (map[uuid.UUID]int32, error)
}

// NewLoaders returns the loaders of one operation.
func NewLoaders(svc *shop.Service) *Loaders {
	opts := []dataloadgen.Option{dataloadgen.WithWait(loaderWait)}
	return &Loaders{
		Product: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*shop.Product, []error) {
			return one(svc.ProductsByID(ctx, identity.FromContext(ctx), ids))
		}, opts...),
		Review: dataloadgen.NewLoader(func(ctx context.Context, ids []uuid.UUID) ([]*shop.Review, []error) {
			return one(svc.ReviewsByID(ctx, ids))
		}, opts...),
		Favorited: dataloadgen.NewLoader(dataload.Values(func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
			return svc.Favorited(ctx, identity.FromContext(ctx), ids)
		}), opts...),
		Reviews: dataloadgen.NewLoader(dataload.Pages(svc.ReviewsOf), opts...),
		SellerProducts: dataloadgen.NewLoader(dataload.Pages(func(ctx context.Context, ids []uuid.UUID, first int, after *string) (map[uuid.UUID]paging.Page[shop.Product], error) {
			return svc.SellersProducts(ctx, identity.FromContext(ctx), ids, first, after)
		}), opts...),
		Tree: onceCtx(func(ctx context.Context) (*categoryTree, error) {
			cats, err := svc.Categories(ctx)
			if err != nil {
				return nil, err
			}
			return newCategoryTree(cats), nil
		}),
		Counts: onceCtx(svc.SubtreeCounts),
	}
}

// onceCtx runs f once per operation; later callers share its answer.
func onceCtx[T any](f func(context.Context) (T, error)) func(context.Context) (T, error) {
	var once sync.Once
	var v T
	var err error
	return func(ctx context.Context) (T, error) {
		once.Do(func() { v, err = f(ctx) })
		return v, err
	}
}

func one[V any](vals []V, err error) ([]V, []error) {
	if err != nil {
		return nil, []error{err}
	}
	return vals, nil
}

// PerOperation installs fresh loaders in each operation's context.
func PerOperation(svc *shop.Service) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context { return dataload.With(ctx, NewLoaders(svc)) }
}

func (r *Resolver) loaders(ctx context.Context) *Loaders { return dataload.From[Loaders](ctx) }

// categoryTree is the category tree indexed for parent and child lookups.
type categoryTree struct {
	all      []shop.Category
	byID     map[uuid.UUID]shop.Category
	children map[uuid.UUID][]shop.Category
}

func newCategoryTree(cats []shop.Category) *categoryTree {
	t := &categoryTree{all: cats, byID: map[uuid.UUID]shop.Category{}, children: map[uuid.UUID][]shop.Category{}}
	for _, c := range cats {
		t.byID[c.ID] = c
		if c.ParentID != nil {
			t.children[*c.ParentID] = append(t.children[*c.ParentID], c)
		}
	}
	return t
}
