// Command router runs the supergraph router: the platform's public GraphQL
// endpoint (configuration: ROUTER_* environment variables, see router.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"supergraph/platform/config"
	"supergraph/router"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}

// gcPercent is the router's GOGC unless the environment sets one. The router
// keeps little live heap (plans, prepared operations, remembered tokens: a few
// MiB) and allocates a lot per request, so the default 100 has the collector
// run very often; 400 cuts its CPU by about three quarters for a few tens of
// MiB more heap. GOMEMLIMIT, when set, still bounds it.
const gcPercent = 400

func run() error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	cfg, err := router.LoadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel)
	config.Log(log, &cfg, router.EnvPrefix)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r, err := router.New(cfg, log)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Run(ctx)
}

func newLogger(format, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("service", "router")
}
