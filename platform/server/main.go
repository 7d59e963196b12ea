package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"supergraph/platform/config"
	"supergraph/platform/gctune"
	"supergraph/platform/logging"
)

// serviceConfig is what Main needs of a configuration; config.Service has it.
type serviceConfig interface {
	LogSettings() (format, level string)
	DebugListen() string
	GCHeadroom() uint64
	// HealthEndpoint is where the health command asks (HealthCommand).
	HealthEndpoint() (listen, path string)
}

// serveDebug serves the profiler for as long as the process lives.
func serveDebug(log *slog.Logger, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("profiler", "addr", "http://"+addr+"/debug/pprof/")
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("profiler", "err", err)
	}
}

// Main is every service binary's main: it reads the environment over the
// defaults cfg holds, builds the logger, prints the configuration (secrets
// masked) and calls run with a context cancelled on SIGINT or SIGTERM and the
// command-line arguments. It exits 2 on a bad configuration, 1 when run fails.
//
// `<binary> health` never reaches run: Main answers it (HealthCommand).
func Main[C serviceConfig](name, envPrefix string, cfg C, run func(ctx context.Context, cfg C, log *slog.Logger, args []string) error) {
	answerHealth(name, envPrefix, cfg)
	if err := config.Load(&cfg, envPrefix); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	format, level := cfg.LogSettings()
	out := logging.NewBuffered(os.Stderr, 100*time.Millisecond)
	log := logging.New(out, format, level, name)
	config.Log(log, cfg, envPrefix)
	gctune.Apply(cfg.GCHeadroom())
	if addr := cfg.DebugListen(); addr != "" {
		go serveDebug(log, addr)
	}
	ctx, stop := SignalContext()
	err := run(ctx, cfg, log, os.Args[1:])
	stop()
	if err != nil {
		log.Error("exit", "err", err) // written through at once
		os.Exit(1)
	}
	_ = out.Flush()
}
