// Command mailcatcher is the development mail server: it accepts any mail
// over SMTP (no TLS, no auth) and shows it over HTTP. Never expose it.
//
//	MAILCATCHER_SMTP_ADDR  SMTP listen address (default 127.0.0.1:1025)
//	MAILCATCHER_HTTP_ADDR  web UI and /api/messages (default 127.0.0.1:8025)
//
// `mailcatcher health` asks a running catcher whether it answers, as every
// binary's health command does (server.Health).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"supergraph/platform/config"
	"supergraph/platform/health"
	"supergraph/platform/logging"
	"supergraph/platform/server"
	"supergraph/worker/mailcatch"
)

// Config is the catcher's configuration.
type Config struct {
	SMTPAddr  string `env:"SMTP_ADDR" envDefault:"127.0.0.1:1025"`
	HTTPAddr  string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8025"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
}

const envPrefix = "MAILCATCHER_"

func main() {
	checkHealth := len(os.Args) == 2 && os.Args[1] == server.HealthCommand
	if len(os.Args) > 1 && !checkHealth {
		fmt.Fprintf(os.Stderr, "mailcatcher: unknown arguments %q\nusage: mailcatcher [%s]  (no argument: serve; configuration from the environment)\n", os.Args[1:], server.HealthCommand)
		os.Exit(2)
	}
	var cfg Config
	if err := config.Load(&cfg, envPrefix); err != nil {
		if checkHealth {
			fmt.Fprintln(os.Stderr, "mailcatcher: unhealthy:", err)
			os.Exit(1) // Docker reserves 2
		}
		fmt.Fprintln(os.Stderr, "mailcatcher:", err)
		os.Exit(2)
	}
	if checkHealth {
		os.Exit(server.Health("mailcatcher", cfg.HTTPAddr, health.Path, os.Stdout, os.Stderr))
	}
	ctx, stop := server.SignalContext()
	defer stop()
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel, "mailcatcher")
	if err := run(ctx, cfg, log); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	smtpLn, err := net.Listen("tcp", cfg.SMTPAddr)
	if err != nil {
		return err
	}
	c := mailcatch.New()
	smtpDone := make(chan error, 1)
	go func() { smtpDone <- c.Serve(smtpLn) }()
	log.Info("mail catcher", "smtp", smtpLn.Addr().String(), "read mail at", "http://"+cfg.HTTPAddr+"/")
	httpErr := server.Serve(ctx, log, cfg.HTTPAddr, c.Handler(), 5*time.Second)
	closeErr := c.Close()
	select {
	case err := <-smtpDone:
		return errors.Join(httpErr, err)
	case <-time.After(5 * time.Second):
		return errors.Join(httpErr, closeErr, errors.New("smtp server did not stop"))
	}
}
