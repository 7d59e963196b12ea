// Command router runs the supergraph router: the platform's public GraphQL
// endpoint (configuration: ROUTER_* environment variables, see router.Config).
package main

import (
	"context"
	"log/slog"

	"supergraph/platform/server"
	"supergraph/router"
)

func main() { server.Main("router", router.EnvPrefix, router.DefaultConfig(), run) }

func run(ctx context.Context, cfg router.Config, log *slog.Logger, _ []string) error {
	r, err := router.New(cfg, log)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Run(ctx)
}
