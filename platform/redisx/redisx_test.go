package redisx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
)

func TestOptionsBoundRequestPathCommands(t *testing.T) {
	o, err := redisx.Options("redis://127.0.0.1:6379/3")
	require.NoError(t, err)
	require.Equal(t, 3, o.DB)
	require.Equal(t, redisx.Timeout, o.DialTimeout)
	require.Equal(t, redisx.Timeout, o.ReadTimeout)
	require.Equal(t, redisx.Timeout, o.WriteTimeout)
	require.Equal(t, 1, o.MaxRetries)

	// What the URL says wins, for unix sockets too.
	o, err = redisx.Options("unix:///tmp/redis.sock?db=2&read_timeout=2s&max_retries=3")
	require.NoError(t, err)
	require.Equal(t, 2, o.DB)
	require.Equal(t, 2*time.Second, o.ReadTimeout)
	require.Equal(t, redisx.Timeout, o.WriteTimeout)
	require.Equal(t, 3, o.MaxRetries)

	_, err = redisx.Options("http://nope")
	require.Error(t, err)
}
