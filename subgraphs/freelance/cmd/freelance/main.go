// Command freelance runs the freelance subgraph (`freelance`), seeds its demo
// data (`freelance seed`), or completes long-delivered orders once
// (`freelance auto-complete`, what the scheduled task does).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/subgraphs/freelance"
)

func main() { server.Main("freelance", freelance.EnvPrefix, freelance.DefaultConfig(), run) }

func run(ctx context.Context, cfg freelance.Config, log *slog.Logger, args []string) error {
	app, err := freelance.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return freelance.Seed(ctx, app.Gigs, log)
		case "auto-complete":
			n, err := app.Gigs.AutoCompleteDelivered(ctx)
			log.Info("auto-completed delivered orders", "orders", n)
			return err
		default:
			return fmt.Errorf("unknown command %q (want seed or auto-complete)", args[0])
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return app.Serve(ctx, ln)
}
