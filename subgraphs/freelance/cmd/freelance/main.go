// Command freelance runs the freelance subgraph (`freelance`), seeds its demo
// data (`freelance seed`), or completes long-delivered orders once
// (`freelance auto-complete`, what the scheduled task does).
package main

import (
	"context"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/freelance"
)

func main() {
	server.MainCommands(freelance.Service.Name, freelance.EnvPrefix, freelance.DefaultConfig(), serve, server.Commands[freelance.Config]{
		"seed":          seed,
		"auto-complete": autoComplete,
	})
}

func serve(ctx context.Context, cfg freelance.Config, log *slog.Logger) error {
	app, err := freelance.New(ctx, cfg, log)
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
func seed(ctx context.Context, cfg freelance.Config, log *slog.Logger) error {
	app, err := freelance.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	return freelance.Seed(ctx, app.Domain, log)
}

func autoComplete(ctx context.Context, cfg freelance.Config, log *slog.Logger) error {
	app, err := freelance.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	n, err := app.Domain.AutoCompleteDelivered(ctx)
	log.Info("auto-completed delivered orders", "orders", n)
	return err
}
