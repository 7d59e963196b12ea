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

func main() { server.Main("users", users.EnvPrefix, users.DefaultConfig(), run) }

func run(ctx context.Context, cfg users.Config, log *slog.Logger, args []string) error {
	app, err := users.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if len(args) > 0 && args[0] == "seed" {
		return users.Seed(ctx, app.Accounts, cfg.SeedPassword, log)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return app.Serve(ctx, ln)
}
