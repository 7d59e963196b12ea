// Command freelance runs the freelance subgraph (`freelance`), seeds its demo
// data (`freelance seed`), or completes long-delivered orders once
// (`freelance auto-complete`, what the scheduled task does).
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
	"supergraph/subgraphs/freelance"
)

func main() {
	ctx, stop := server.SignalContext()
	defer stop()
	cfg := freelance.DefaultConfig()
	if err := config.Load(&cfg, freelance.EnvPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "freelance:", err)
		os.Exit(2)
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel, "freelance")
	if err := run(ctx, cfg, log, os.Args[1:]); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg freelance.Config, log *slog.Logger, args []string) error {
	config.Log(log, cfg, freelance.EnvPrefix)
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
