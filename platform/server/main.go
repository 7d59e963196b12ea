package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"supergraph/platform/config"
	"supergraph/platform/logging"
)

// loggingConfig is what Main needs of a configuration; config.Service has it.
type loggingConfig interface{ LogSettings() (format, level string) }

// Main is every service binary's main: it reads the environment over the
// defaults cfg holds, builds the logger, prints the configuration (secrets
// masked) and calls run with a context cancelled on SIGINT or SIGTERM and the
// command-line arguments. It exits 2 on a bad configuration, 1 when run fails.
func Main[C loggingConfig](name, envPrefix string, cfg C, run func(ctx context.Context, cfg C, log *slog.Logger, args []string) error) {
	if err := config.Load(&cfg, envPrefix); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	format, level := cfg.LogSettings()
	log := logging.New(os.Stderr, format, level, name)
	config.Log(log, cfg, envPrefix)
	ctx, stop := SignalContext()
	err := run(ctx, cfg, log, os.Args[1:])
	stop()
	if err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}
