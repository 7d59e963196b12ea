// Command worker runs the notifications worker: the asynq server (delivery,
// e-mail, push, broadcasts), the scheduler of periodic jobs, and an admin
// port with health and the asynq web UI.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"supergraph/platform/server"
	"supergraph/worker"
)

// No subcommands: any argument is refused (MainCommands), as by every binary.
func main() {
	server.MainCommands("worker", worker.EnvPrefix, worker.DefaultConfig(), serve, nil)
}

func serve(ctx context.Context, cfg worker.Config, log *slog.Logger) (err error) {
	w, err := worker.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return w.Run(ctx, ln)
}
