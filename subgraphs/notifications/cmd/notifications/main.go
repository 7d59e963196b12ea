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
	server.Main("notifications", notifications.EnvPrefix, notifications.DefaultConfig(), run)
}

func run(ctx context.Context, cfg notifications.Config, log *slog.Logger, args []string) error {
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
