package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/server"
)

// Shutdown drains the request in flight before it stops the background
// loops, and only then returns.
func TestShutdownDrainsThenStopsLoops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	inHandler, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var events []string
	record := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		record("request finished")
		_, _ = io.WriteString(w, "done")
	})
	loop := func(ctx context.Context) error {
		<-ctx.Done()
		record("loop stopped")
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- server.ServeListener(ctx, slog.New(slog.DiscardHandler), ln, h, 5*time.Second, loop)
	}()

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			body <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-inHandler
	cancel() // SIGTERM arrives while a request is in flight
	// New connections are refused once shutdown has begun.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err == nil {
			require.NoError(t, c.Close())
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	close(release)

	require.Equal(t, "done", <-body)
	require.NoError(t, <-served)
	require.Equal(t, []string{"request finished", "loop stopped"}, events)
}

// A failing background loop stops the service with its error.
func TestLoopFailureStopsService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	boom := func(context.Context) error { return io.ErrUnexpectedEOF }
	err = server.ServeListener(context.Background(), slog.New(slog.DiscardHandler), ln, http.NotFoundHandler(), time.Second, boom)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
