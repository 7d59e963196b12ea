package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
)

type testConfig struct{ config.Service }

func TestPick(t *testing.T) {
	var ran string
	cmd := func(name string) Command[testConfig] {
		return func(context.Context, testConfig, *slog.Logger) error { ran = name; return nil }
	}
	serve, commands := cmd("serve"), Commands[testConfig]{"seed": cmd("seed"), "auto-complete": cmd("auto-complete")}
	for _, tc := range []struct {
		args []string
		ran  string
		err  string
	}{
		{args: nil, ran: "serve"},
		{args: []string{"seed"}, ran: "seed"},
		{args: []string{"auto-complete"}, ran: "auto-complete"},
		{args: []string{"sed"}, err: `unknown command "sed"`},
		{args: []string{"serve"}, err: `unknown command "serve"`},
		{args: []string{""}, err: `unknown command ""`},
		{args: []string{"seed", "now"}, err: `seed takes no arguments, got ["now"]`},
		{args: []string{"--help"}, err: errHelp.Error()},
	} {
		ran = ""
		run, err := pick(tc.args, serve, commands)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "%q", tc.args)
			continue
		}
		require.NoError(t, err, "%q", tc.args)
		require.NoError(t, run(context.Background(), testConfig{}, nil))
		require.Equal(t, tc.ran, ran, "%q", tc.args)
	}
}

// The process itself: a typo exits 2 with the usage and runs nothing; a
// known command runs with the configuration loaded.
func TestMainCommands(t *testing.T) {
	if args, ok := os.LookupEnv("SERVER_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"demo"}, strings.Fields(args)...)
		say := func(what string) Command[testConfig] {
			return func(_ context.Context, cfg testConfig, _ *slog.Logger) error {
				fmt.Println(what, cfg.HTTPAddr)
				return nil
			}
		}
		fail := func(context.Context, testConfig, *slog.Logger) error { return errors.New("boom") }
		var cfg testConfig
		config.Defaults(&cfg)
		cfg.HTTPAddr = "127.0.0.1:8009"
		MainCommands("demo", "DEMO_", cfg, say("served"), Commands[testConfig]{"seed": say("seeded"), "fail": fail})
		os.Exit(0)
	}
	run := func(args string) (stdout, stderr string, code int) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainCommands$")
		cmd.Env = append(os.Environ(), "SERVER_TEST_MAIN_ARGS="+args, "DEMO_HTTP_ADDR=")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return out.String(), errOut.String(), code
	}

	out, errOut, code := run("sed")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `demo: unknown command "sed"`)
	require.Contains(t, errOut, "usage: demo [fail | health | seed]")
	require.NotContains(t, out, "served")

	out, _, code = run("seed")
	require.Equal(t, 0, code)
	require.Contains(t, out, "seeded 127.0.0.1:8009")

	out, _, code = run("")
	require.Equal(t, 0, code)
	require.Contains(t, out, "served 127.0.0.1:8009")

	_, errOut, code = run("fail")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "boom")

	out, _, code = run("help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "usage: demo")
}
