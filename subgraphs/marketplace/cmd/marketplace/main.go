// Command marketplace runs the marketplace subgraph (`marketplace`) or seeds
// its demo data (`marketplace seed`).
package main

import (
	"context"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/marketplace"
)

func main() {
	server.MainCommands(marketplace.Service.Name, marketplace.EnvPrefix, marketplace.DefaultConfig(), serve, server.Commands[marketplace.Config]{
		"seed": seed,
	})
}

func serve(ctx context.Context, cfg marketplace.Config, log *slog.Logger) error {
	app, err := marketplace.New(ctx, cfg, log)
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

// seed adds the demo catalogue that is missing.
func seed(ctx context.Context, cfg marketplace.Config, log *slog.Logger) error {
	app, err := marketplace.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	return marketplace.Seed(ctx, app.Domain, log)
}
