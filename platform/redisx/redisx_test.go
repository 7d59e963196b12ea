package redisx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
)

func TestOptionsBoundRequestPathCommands(t *testing.T) {
	o, err := redisx.Options("redis://127.0.0.1:6379/3")
	require.NoError(t, err)
	require.Equal(t, 3, o.DB)
	require.Equal(t, redisx.Timeout, o.DialTimeout)
	require.Equal(t, redisx.Timeout, o.ReadTimeout)
	require.Equal(t, redisx.Timeout, o.WriteTimeout)
	require.Equal(t, -1, o.MaxRetries, "no retries")

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

func TestClientFailsFastWhileRedisHangs(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := redisx.Open(context.Background(), srv.URL(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rdb.Close()) })
	ctx := context.Background()

	// Answers, misses included, are not failures.
	for range 5 {
		require.ErrorIs(t, rdb.Get(ctx, "missing").Err(), redis.Nil)
	}

	srv.Freeze()
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			srv.Thaw()
		}
	})
	err = rdb.Get(ctx, "k").Err()
	require.Error(t, err)
	require.NotErrorIs(t, err, redisx.ErrUnavailable, "the first failure is the network's own")
	// A fresh connection's handshake fails too, so it takes at most three commands.
	require.Eventually(t, func() bool { return errors.Is(rdb.Get(ctx, "k").Err(), redisx.ErrUnavailable) },
		10*time.Second, time.Millisecond, "then commands fail at once")
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); p.Get(ctx, "l"); return nil })
	require.ErrorIs(t, err, redisx.ErrUnavailable, "pipelines too")

	srv.Thaw()
	thawed = true
	require.Eventually(t, func() bool { return rdb.Set(ctx, "k", "v", 0).Err() == nil }, 10*time.Second, 20*time.Millisecond,
		"a probe closes the circuit once Redis answers")
	require.Equal(t, "v", rdb.Get(ctx, "k").Val())
}
