// Command users runs the users subgraph (`users`) or seeds its demo data
// (`users seed`).
package main

import (
	"context"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/users"
)

func main() {
	server.MainCommands(users.Service.Name, users.EnvPrefix, users.DefaultConfig(), serve, server.Commands[users.Config]{
		"seed": seed,
	})
}

func serve(ctx context.Context, cfg users.Config, log *slog.Logger) error {
	app, err := users.New(ctx, cfg, log)
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

// seed adds the demo accounts that are missing.
func seed(ctx context.Context, cfg users.Config, log *slog.Logger) error {
	app, err := users.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	return users.Seed(ctx, app.Domain, cfg.SeedPassword, log)
}
