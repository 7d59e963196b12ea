// Command notifications runs the notifications subgraph (`notifications`) or
// seeds its demo data (`notifications seed`).
package main

import (
	"context"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/notifications"
)

func main() {
	server.MainCommands(notifications.Service.Name, notifications.EnvPrefix, notifications.DefaultConfig(), serve, server.Commands[notifications.Config]{
		"seed": seed,
	})
}

func serve(ctx context.Context, cfg notifications.Config, log *slog.Logger) error {
	app, err := notifications.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return app.Serve(ctx, ln)
}

// seed adds the demo notifications that are missing.
func seed(ctx context.Context, cfg notifications.Config, log *slog.Logger) error {
	app, err := notifications.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	return notifications.Seed(ctx, app.Domain, log)
}
