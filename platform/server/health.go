package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"supergraph/platform/config"
)

// HealthCommand is the argument that makes a binary check the health of the
// service it would run instead of running it: `users health`. Container
// images have no curl, so compose healthchecks and Kubernetes exec probes
// call the binary itself. Main (and so MainCommands) answers it.
const HealthCommand = "health"

// HealthTimeout bounds the health command's request. The services' own
// dependency probes give up after 2 s (platform/health, ROUTER_HEALTH_TIMEOUT),
// so a hung database still yields an answer ("unhealthy") within it.
const HealthTimeout = 3 * time.Second

// CheckHealth GETs rawURL and returns nil when it answers 2xx within
// timeout, otherwise an error that says in one line what happened: no
// answer, a refused connection, or the status and the start of the body.
// Redirects are not followed, and proxies from the environment are not used:
// the service is on this host.
func CheckHealth(ctx context.Context, rawURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: no answer within %s", rawURL, timeout)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // "Get <url>: " again says nothing new
		}
		return fmt.Errorf("%s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return fmt.Errorf("%s answered %s: %s", rawURL, resp.Status, oneLine(string(body)))
}

// oneLine folds s onto one line, shortened to 200 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// LocalURL is the http URL of path on a server listening on listen, as a
// process on the same host reaches it: an unspecified host (":8000",
// "0.0.0.0:8090", "[::]:8080") becomes loopback, any other is kept.
func LocalURL(listen, path string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		// 127.0.0.1 rather than ::1: a wildcard listener takes IPv4 whatever
		// the host's IPv6 setup, and an IPv4 one ("0.0.0.0") takes nothing else.
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: path}).String(), nil
}

// Health is a binary's health command once its configuration is read: it
// asks the service listening on listen for path and prints one line, to
// stdout when it is healthy, to stderr otherwise. It returns the exit status
// container healthchecks and exec probes expect: 0 healthy, 1 not.
func Health(name, listen, path string, stdout, stderr io.Writer) int {
	u, err := LocalURL(listen, path)
	if err == nil {
		err = CheckHealth(context.Background(), u, HealthTimeout)
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: unhealthy: %v\n", name, err)
		return 1
	}
	_, _ = fmt.Fprintf(stdout, "%s: healthy (%s)\n", name, u)
	return 0
}

// answerHealth runs the health command and exits when the command line asks
// for it. It reads the configuration as the service does, but prints
// nothing else: a healthcheck's output is kept by the container engine,
// and one line per probe says all there is.
func answerHealth[C serviceConfig](name, envPrefix string, cfg C) {
	args := os.Args[1:]
	if len(args) == 0 || args[0] != HealthCommand {
		return
	}
	os.Exit(healthMain(name, envPrefix, cfg, args[1:], os.Stdout, os.Stderr))
}

func healthMain[C serviceConfig](name, envPrefix string, cfg C, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		_, _ = fmt.Fprintf(stderr, "%s: %s takes no arguments, got %q\n", name, HealthCommand, args)
		return 2
	}
	if err := config.Load(&cfg, envPrefix); err != nil {
		// 1, not 2 as when serving: to a healthcheck, a service that cannot
		// read its configuration is simply not healthy.
		_, _ = fmt.Fprintf(stderr, "%s: unhealthy: %v\n", name, err)
		return 1
	}
	listen, path := cfg.HealthEndpoint()
	return Health(name, listen, path, stdout, stderr)
}
