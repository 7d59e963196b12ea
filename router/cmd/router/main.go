// Command router runs the supergraph router: the platform's public GraphQL
// endpoint (configuration: ROUTER_* environment variables, see router.Config).
//
// `router keys [public-key-file]` instead creates the development assertion
// key when there is none and publishes its public half for the subgraphs;
// `router health` asks a running router whether it is ready (server.Main
// answers it: container healthchecks run it).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"supergraph/platform/server"
	"supergraph/router"
)

func main() { server.Main("router", router.EnvPrefix, router.DefaultConfig(), run) }

func run(ctx context.Context, cfg router.Config, log *slog.Logger, args []string) (err error) {
	if len(args) > 0 {
		if args[0] != "keys" || len(args) > 2 {
			return fmt.Errorf("unknown command %q: the router knows only `keys [public-key-file]` and `health`", args)
		}
		path := ""
		if len(args) == 2 {
			path = args[1]
		}
		path, err = router.PublishAssertionKey(cfg, path)
		if err == nil {
			log.Info("assertion key ready; its public half is published", "public_key", path)
		}
		return err
	}
	r, err := router.New(cfg, log)
	if err != nil {
		return err
	}
	// Close flushes the last spans and closes the Redis clients: its failure is
	// reported with whatever Run returned.
	defer func() { err = errors.Join(err, r.Close()) }()
	return r.Run(ctx)
}
