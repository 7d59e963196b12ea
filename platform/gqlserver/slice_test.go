package gqlserver_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"

	"supergraph/platform/gqlserver"
)

// MarshalSlice answers as gqlgen's MarshalSliceConcurrently does: every
// element marshalled with its index in the field context, and a panicking
// element nulled and reported.
func TestMarshalSliceIsTheSequentialTwin(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{}})
	marshal := func(ctx context.Context, i int) graphql.Marshaler {
		if i == 2 {
			panic("boom")
		}
		return graphql.MarshalInt(*graphql.GetFieldContext(ctx).Index * 10)
	}
	for _, slice := range []func(context.Context, int, int64, bool, func(context.Context, int) graphql.Marshaler) graphql.Array{
		graphql.MarshalSliceConcurrently, gqlserver.MarshalSlice,
	} {
		var out bytes.Buffer
		slice(ctx, 4, 0, false, marshal).MarshalGQL(&out)
		require.Equal(t, "[0,10,null,30]", out.String())
	}
	require.Len(t, graphql.GetErrors(ctx), 2, "each panic reported once")
}
