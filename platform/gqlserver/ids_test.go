package gqlserver_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"supergraph/platform/apperr"
	"supergraph/platform/gqlserver"
)

func TestParseID(t *testing.T) {
	want := uuid.New()
	got, err := gqlserver.ParseID("id", want.String())
	require.NoError(t, err)
	require.Equal(t, want, got)

	_, err = gqlserver.ParseID("gigId", "nope")
	e, ok := apperr.As(err)
	require.True(t, ok)
	require.Equal(t, apperr.CodeBadUserInput, e.Code)
	require.Equal(t, "gigId", e.Field)
	require.Equal(t, "gigId is not a valid id", e.Message)

	none, err := gqlserver.OptionalID("parentId", nil)
	require.NoError(t, err)
	require.Nil(t, none)
	s := want.String()
	some, err := gqlserver.OptionalID("parentId", &s)
	require.NoError(t, err)
	require.Equal(t, want, *some)
}
