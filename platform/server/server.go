// Package server runs a service's HTTP server and background loops, and shuts
// them down in order with deadlines when the process is asked to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// Background is a loop that runs until its context is cancelled (an outbox
// relay, a pub/sub listener). Returning early with an error stops the service.
type Background func(ctx context.Context) error

// Serve listens on addr and serves h until ctx is cancelled or a background
// loop fails, then shuts down in order: stop accepting and drain HTTP requests
// (bounded by timeout), end WebSocket and other hijacked connections, stop the
// background loops. The caller closes pools afterwards (defers in run).
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, timeout time.Duration, loops ...Background) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, log, ln, h, timeout, loops...)
}

// ServeListener is Serve on an open listener (tests listen on port 0).
func ServeListener(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler, timeout time.Duration, loops ...Background) error {
	// Connections (and so WebSockets) live in connCtx, cancelled only after
	// the HTTP drain, so in-flight requests finish first.
	connCtx, endConns := context.WithCancel(context.WithoutCancel(ctx))
	defer endConns()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return connCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	failed := make(chan error, len(loops)+1)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Go(func() {
			if err := loop(loopCtx); err != nil && !errors.Is(err, context.Canceled) {
				failed <- err
			}
		})
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("http server: %w", err)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String())

	var errs []error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-failed:
		log.Error("stopping after failure", "err", err)
		errs = append(errs, err)
	}

	drainCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		errs = append(errs, fmt.Errorf("drain http: %w", err))
		_ = srv.Close()
	}
	endConns()
	stopLoops()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-drainCtx.Done():
		errs = append(errs, errors.New("background loops did not stop in time"))
	}
	log.Info("stopped")
	return errors.Join(errs...)
}
