// Package dataload carries a subgraph's dataloaders in the context of one
// GraphQL operation, so that every resolver of the operation shares their
// batches and caches, and no cache outlives the operation (unlike one
// installed per HTTP request, which a WebSocket connection would keep).
package dataload

import "context"

type key[T any] struct{}

// With returns ctx carrying loaders.
func With[T any](ctx context.Context, loaders *T) context.Context {
	return context.WithValue(ctx, key[T]{}, loaders)
}

// From returns the loaders of the operation in ctx. It panics when the
// subgraph did not install them: a wiring error every test catches.
func From[T any](ctx context.Context) *T {
	l, ok := ctx.Value(key[T]{}).(*T)
	if !ok {
		panic("dataload: no loaders in context; set gqlserver.Options.PerOperation")
	}
	return l
}

// ByID adapts a map-returning batch read to a loader's fetch, answering nil
// for ids that have no row.
func ByID[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error)) func(context.Context, []K) ([]*V, []error) {
	return func(ctx context.Context, ids []K) ([]*V, []error) {
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

// Values adapts a map-returning batch read to a loader's fetch, answering
// the zero value for ids that have no entry.
func Values[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error)) func(context.Context, []K) ([]V, []error) {
	return func(ctx context.Context, ids []K) ([]V, []error) {
		m, err := fetch(ctx, ids)
		if err != nil {
			return nil, []error{err}
		}
		out := make([]V, len(ids))
		for i, id := range ids {
			out[i] = m[id]
		}
		return out, nil
	}
}

// PageKey asks for one page of a nested list: the parent's id and the page
// arguments. Keys with the same arguments are fetched in one statement.
type PageKey[K comparable] struct {
	ID    K
	First int
	After string
}

// Pages adapts a batched page read to a loader's fetch: keys are grouped by
// their page arguments, one read per group (one in practice: siblings in a
// query share their arguments).
func Pages[K comparable, P any](fetch func(ctx context.Context, ids []K, first int, after *string) (map[K]P, error)) func(context.Context, []PageKey[K]) ([]P, []error) {
	return func(ctx context.Context, keys []PageKey[K]) ([]P, []error) {
		type args struct {
			first int
			after string
		}
		groups := map[args][]K{}
		for _, k := range keys {
			a := args{k.First, k.After}
			groups[a] = append(groups[a], k.ID)
		}
		results := map[PageKey[K]]P{}
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
				results[PageKey[K]{id, a.first, a.after}] = m[id]
			}
		}
		out := make([]P, len(keys))
		for i, k := range keys {
			out[i] = results[k]
		}
		return out, nil
	}
}
