package apperr_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/apperr"
)

func TestWrapKeepsClientErrorsAndAddsContextToOthers(t *testing.T) {
	require.NoError(t, apperr.Wrap("op", nil))
	client := apperr.Forbidden("no")
	require.Same(t, client, apperr.Wrap("op", client), "a client error reaches the client as it is")
	internal := errors.New("disk on fire")
	wrapped := apperr.Wrap("save order", internal)
	require.ErrorIs(t, wrapped, internal)
	require.Equal(t, "save order: disk on fire", wrapped.Error())
	_, ok := apperr.As(wrapped)
	require.False(t, ok)
}
