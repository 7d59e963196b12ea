// Package redisx opens go-redis clients from URLs (redis://host:port/db or
// unix:///path?db=N) and checks that they answer.
package redisx

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Open returns a client for url, checked with a PING.
func Open(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", opts.Addr, err)
	}
	return client, nil
}

// AsynqOpt converts a Redis URL (any form go-redis parses, unix sockets
// included) to asynq's connection options.
func AsynqOpt(url string) (asynq.RedisClientOpt, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return asynq.RedisClientOpt{}, fmt.Errorf("parse queue redis url: %w", err)
	}
	return asynq.RedisClientOpt{
		Network: opts.Network, Addr: opts.Addr, Username: opts.Username,
		Password: opts.Password, DB: opts.DB, TLSConfig: opts.TLSConfig,
	}, nil
}
