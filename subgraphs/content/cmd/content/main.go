// Command content runs the content subgraph (`content`) or seeds its demo
// data (`content seed`).
package main

import (
	"context"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/content"
)

func main() {
	server.MainCommands(content.Service.Name, content.EnvPrefix, content.DefaultConfig(), serve, server.Commands[content.Config]{
		"seed": seed,
	})
}

func serve(ctx context.Context, cfg content.Config, log *slog.Logger) error {
	app, err := content.New(ctx, cfg, log)
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

// seed adds the demo channels that are missing.
func seed(ctx context.Context, cfg content.Config, log *slog.Logger) error {
	app, err := content.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	return content.Seed(ctx, app.Domain, log)
}
