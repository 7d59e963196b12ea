package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Resilience configures how the router treats one subgraph's HTTP requests.
type Resilience struct {
	// Timeout bounds one subgraph request, retries included.
	Timeout time.Duration
	// BreakerFailures consecutive failures open the subgraph's circuit: its
	// fields then fail at once with SUBGRAPH_UNAVAILABLE. After BreakerOpenFor
	// one probe request may pass (half-open); its success closes the circuit.
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// Retries is how many times a failed query fetch is retried (never a
	// mutation's): connection errors and 502/503/504, with full-jitter
	// exponential backoff from RetryBackoff, and only while the retry budget
	// lasts: every request earns RetryBudget retries (0.2: one in five), up to 10
	// saved, so a struggling subgraph sees at most 20% more traffic, not 3×.
	Retries      int
	RetryBackoff time.Duration
	RetryBudget  float64
}

// FetchObserver sees every subgraph fetch attempt (metrics, tracing, logs).
type FetchObserver interface {
	// Fetch wraps one attempt: it may return a derived request (trace headers)
	// and must call done with the outcome.
	Fetch(subgraph string, req *http.Request) (*http.Request, func(resp *http.Response, err error))
	BreakerState(subgraph string, state string)
}

type opTypeKey struct{}

// withOperationType tells the subgraph transport what kind of operation a
// fetch belongs to: only queries are safe to retry.
func withOperationType(ctx context.Context, t OperationType) context.Context {
	return context.WithValue(ctx, opTypeKey{}, t)
}

// ErrCircuitOpen is a fetch refused because its subgraph's circuit is open.
var ErrCircuitOpen = errors.New("circuit open: the subgraph failed repeatedly and is given a rest")

// errServerError marks a 5xx answer as a failure for the breaker while the
// response itself still goes to the engine (it has the subgraph's errors).
var errServerError = errors.New("subgraph answered with a server error")

// subgraphTransport is one subgraph's RoundTripper: breaker, retries, observer.
// It never adds identity: that comes from the per-request header builder.
type subgraphTransport struct {
	name     string
	base     http.RoundTripper
	cfg      Resilience
	breaker  *gobreaker.CircuitBreaker[*http.Response]
	observer FetchObserver

	mu     sync.Mutex
	tokens float64
}

func newSubgraphTransport(name string, base http.RoundTripper, cfg Resilience, obs FetchObserver, log *slog.Logger) *subgraphTransport {
	t := &subgraphTransport{name: name, base: base, cfg: cfg, observer: obs, tokens: 10}
	failures := uint32(max(cfg.BreakerFailures, 1))
	t.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// A client that went away says nothing about the subgraph.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Warn("subgraph circuit breaker", "subgraph", name, "from", from.String(), "to", to.String())
			if obs != nil {
				obs.BreakerState(name, to.String())
			}
		},
	})
	if obs != nil {
		obs.BreakerState(name, gobreaker.StateClosed.String())
	}
	return t
}

// RoundTrip bounds the whole exchange, retries and reading the body included,
// by the subgraph's timeout. It does so itself, not with http.Client.Timeout:
// for a RoundTripper that is not net/http's own, the client enforces that
// timeout with a goroutine, a timer and a reflection per request.
func (t *subgraphTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if ups := uploadsFrom(req.Context()); len(ups) > 0 {
		var err error
		if req, err = withFiles(req, ups); err != nil {
			return nil, err
		}
	}
	if t.cfg.Timeout <= 0 {
		return t.roundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.cfg.Timeout)
	resp, err := t.roundTrip(req.WithContext(ctx))
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the request's deadline when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (t *subgraphTransport) roundTrip(req *http.Request) (*http.Response, error) {
	retries := 0
	if t.cfg.Retries > 0 && req.Context().Value(opTypeKey{}) == Query {
		retries = t.cfg.Retries
		if req.Body != nil && req.GetBody == nil {
			body, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			req.Body, _ = req.GetBody()
		}
	}
	t.deposit()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(req.Context())
			if req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		resp, err := t.attempt(r)
		if !retryable(resp, err) || attempt >= retries || req.Context().Err() != nil || !t.withdraw() {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		// Full jitter: uniformly random up to the exponential step, so retries
		// of many requests spread out instead of arriving together.
		step := t.cfg.RetryBackoff << attempt
		select {
		case <-time.After(rand.N(step + 1)):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

func (t *subgraphTransport) attempt(req *http.Request) (*http.Response, error) {
	var done func(*http.Response, error)
	if t.observer != nil {
		req, done = t.observer.Fetch(t.name, req)
	}
	resp, err := t.breaker.Execute(func() (*http.Response, error) {
		resp, err := t.base.RoundTrip(req)
		if err == nil && resp.StatusCode >= 500 {
			return resp, errServerError
		}
		return resp, err
	})
	switch {
	case errors.Is(err, errServerError):
		err = nil
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		err = fmt.Errorf("subgraph %s: %w", t.name, ErrCircuitOpen)
	}
	if done != nil {
		done(resp, err)
	}
	return resp, err
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, ErrCircuitOpen) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (t *subgraphTransport) deposit() {
	t.mu.Lock()
	t.tokens = min(t.tokens+t.cfg.RetryBudget, 10)
	t.mu.Unlock()
}

func (t *subgraphTransport) withdraw() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}
