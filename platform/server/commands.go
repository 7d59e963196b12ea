package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
)

// Command is one thing a service binary does with its configuration:
// serving, or a one-off job such as seeding demo data.
type Command[C any] func(ctx context.Context, cfg C, log *slog.Logger) error

// Commands are a binary's subcommands, by the name its first argument gives.
type Commands[C any] map[string]Command[C]

// errHelp is a request for the usage.
var errHelp = errors.New("help requested")

// MainCommands is Main for a binary with subcommands, so that every service
// reads its command line alike: no argument runs serve, an argument naming
// one of commands runs that one, and anything else (an unknown name, a typo,
// extra arguments) prints the usage to stderr and exits 2 before any
// configuration is read or any connection opened. help, -h and --help print
// the usage and exit 0. health checks the running service (HealthCommand).
func MainCommands[C serviceConfig](name, envPrefix string, cfg C, serve Command[C], commands Commands[C]) {
	answerHealth(name, envPrefix, cfg)
	run, err := pick(os.Args[1:], serve, commands)
	switch {
	case errors.Is(err, errHelp):
		fmt.Println(usage(name, commands))
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n%s\n", name, err, usage(name, commands))
		os.Exit(2)
	}
	Main(name, envPrefix, cfg, func(ctx context.Context, cfg C, log *slog.Logger, _ []string) error {
		return run(ctx, cfg, log)
	})
}

// pick returns the command args ask for.
func pick[C any](args []string, serve Command[C], commands Commands[C]) (Command[C], error) {
	if len(args) == 0 {
		return serve, nil
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return nil, errHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", args[0])
	}
	if len(args) > 1 {
		return nil, fmt.Errorf("%s takes no arguments, got %q", args[0], args[1:])
	}
	return cmd, nil
}

// usage lists the ways to run the binary.
func usage[C any](name string, commands Commands[C]) string {
	names := []string{HealthCommand} // answered by Main
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprintf("usage: %s [%s]  (no argument: serve; configuration from the environment)", name, strings.Join(names, " | "))
}
