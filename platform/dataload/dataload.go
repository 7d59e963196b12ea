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
