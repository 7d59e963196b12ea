package gqlserver

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalSlice marshals a list's elements one after the other. It stands in
// for gqlgen's graphql.MarshalSliceConcurrently (same signature, same
// results) in lists of objects whose fields are all plain scalars: the
// generator puts it there (subgraphs/internal/gqlgen). Nothing in such an
// element can wait on a resolver, so a goroutine per element buys nothing
// and costs its start and stack growth — a tenth of a subgraph's CPU on a
// page of gigs with their packages.
func MarshalSlice(ctx context.Context, length int, _ int64, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	for i := range length {
		childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshalElement(childCtx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(childCtx, graphql.Recover(childCtx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = marshalElement(childCtx, i)
		}()
	}
	return ret
}
