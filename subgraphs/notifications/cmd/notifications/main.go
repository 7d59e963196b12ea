// Command notifications runs the notifications subgraph (`notifications`) or
// seeds its demo data (`notifications seed`).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"supergraph/platform/config"
	"supergraph/platform/logging"
	"supergraph/platform/server"
	"supergraph/subgraphs/notifications"
)

func main() {
	ctx, stop := server.SignalContext()
	defer stop()
	cfg := notifications.DefaultConfig()
	if err := config.Load(&cfg, notifications.EnvPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "notifications:", err)
		os.Exit(2)
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel, "notifications")
	if err := run(ctx, cfg, log, os.Args[1:]); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg notifications.Config, log *slog.Logger, args []string) error {
	config.Log(log, cfg, notifications.EnvPrefix)
	app, err := notifications.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if len(args) > 0 && args[0] == "seed" {
		return notifications.Seed(ctx, app.Notify, log)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return app.Serve(ctx, ln)
}
