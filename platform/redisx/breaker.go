package redisx

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrUnavailable is a command refused at once because its Redis failed
// repeatedly just before: callers treat it like any other Redis error.
var ErrUnavailable = errors.New("redis unavailable: failing fast after repeated failures")

// breaker is a go-redis hook that makes a client fail fast while its Redis
// is unreachable: after three commands in a row fail on the network (refused,
// reset, timed out), commands fail at once with ErrUnavailable; a second later
// one probe may go through, and its success closes the circuit. Without it,
// every request of a busy service would wait out Timeout on a hung Redis.
// Answers, errors included (redis.Nil, WRONGTYPE), count as success.
type breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}]
}

func newBreaker(name string) breaker {
	return breaker{cb: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
	})}
}

func (b breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return b.run(func() error { return next(ctx, cmd) }, cmd.SetErr)
	}
}

func (b breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return b.run(func() error { return next(ctx, cmds) }, func(err error) {
			for _, c := range cmds {
				c.SetErr(err)
			}
		})
	}
}

// run sends through the breaker; refused, it marks the commands with
// ErrUnavailable.
func (b breaker) run(send func() error, refuse func(error)) error {
	var err error
	ran := false
	_, _ = b.cb.Execute(func() (struct{}, error) {
		ran = true
		err = send()
		if unreachable(err) {
			return struct{}{}, err
		}
		return struct{}{}, nil
	})
	if !ran {
		refuse(ErrUnavailable)
		return ErrUnavailable
	}
	return err
}

// unreachable tells network failures (which say Redis cannot be reached)
// from answers and from the caller's own cancellation or deadline.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout)
}
