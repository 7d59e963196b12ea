// Package redisx opens go-redis clients from URLs (redis://host:port/db or
// unix:///path?db=N) and checks that they answer.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Timeout bounds one Redis command of a request (caches, deny-lists,
// generations): go-redis' defaults (3 s reads, retried) would make a hung
// Redis stall every request for seconds, where a cache miss costs
// milliseconds. URL parameters (dial_timeout, read_timeout, …) still win.
const Timeout = 500 * time.Millisecond

// Options parses url with request-path timeouts: a command waits at most
// Timeout and is not retried.
func Options(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	var params url.Values
	if u, err := url.Parse(rawURL); err == nil {
		params = u.Query()
	}
	for name, d := range map[string]*time.Duration{"dial_timeout": &opts.DialTimeout, "read_timeout": &opts.ReadTimeout, "write_timeout": &opts.WriteTimeout} {
		if !params.Has(name) {
			*d = Timeout
		}
	}
	if !params.Has("max_retries") {
		opts.MaxRetries = -1 // none: a command that timed out would time out again
	}
	return opts, nil
}

// New returns a client that fails fast while its Redis is unreachable
// (ErrUnavailable after repeated network failures; see breaker).
func New(opts *redis.Options) *redis.Client {
	client := redis.NewClient(opts)
	client.AddHook(newBreaker(opts.Addr))
	return client
}

// Open returns a client for url (Options, New), checked with a PING.
func Open(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := Options(url)
	if err != nil {
		return nil, err
	}
	client := New(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("connect to redis %s: %w", opts.Addr, err), client.Close())
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
