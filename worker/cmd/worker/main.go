// Command worker runs the notifications worker: the asynq server (delivery,
// e-mail, push, broadcasts), the scheduler of periodic jobs, and an admin
// port with health and the asynq web UI.
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
	"supergraph/worker"
)

func main() {
	ctx, stop := server.SignalContext()
	defer stop()
	cfg := worker.DefaultConfig()
	if err := config.Load(&cfg, worker.EnvPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel, "worker")
	if err := run(ctx, cfg, log); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg worker.Config, log *slog.Logger) error {
	config.Log(log, cfg, worker.EnvPrefix)
	w, err := worker.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer w.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return w.Run(ctx, ln)
}
