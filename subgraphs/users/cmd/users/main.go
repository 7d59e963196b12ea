// Command users runs the users subgraph (`users`) or seeds its demo data
// (`users seed`).
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
	"supergraph/subgraphs/users"
)

func main() {
	ctx, stop := server.SignalContext()
	defer stop()
	cfg := users.DefaultConfig()
	if err := config.Load(&cfg, users.EnvPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "users:", err)
		os.Exit(2)
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel, "users")
	if err := run(ctx, cfg, log, os.Args[1:]); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg users.Config, log *slog.Logger, args []string) error {
	config.Log(log, cfg, users.EnvPrefix)
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
