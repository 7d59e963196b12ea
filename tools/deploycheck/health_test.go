package deploycheck

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// healthPath is where each binary's health command asks: the router's
// readiness, everyone else's /api/health/.
var healthPath = map[string]string{"router": "/health/ready"}

// Every healthcheck of a platform container, run as compose runs it: the
// image's binary, the command the healthcheck names, the container's
// environment (so it must parse as the service's configuration). Against a
// server standing in for the service on the address that environment gives
// (moved to a free port) it must exit 0 having asked the right path; with
// nothing listening, 1.
func TestHealthchecksRunTheBinaries(t *testing.T) {
	d := load(t)
	bin := t.TempDir()
	abs, err := filepath.Abs(root)
	require.NoError(t, err)
	build := exec.Command("go", append([]string{"build", "-o", bin + "/"}, dockerfilePackages(t)...)...)
	build.Dir = abs
	// This module is built with GOWORK=off; the platform's is the workspace.
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(abs, "go.work"), "GOFLAGS=")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	var mu sync.Mutex
	var asked []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := free.Addr().String()
	require.NoError(t, free.Close())

	probed := 0
	for name, svc := range d.project.Services {
		if !ours(svc) {
			continue
		}
		probed++
		test := svc.HealthCheck.Test // ["CMD", binary, "health"], TestHealthchecksAndDependencies says
		variable := strings.ToUpper(test[1]) + "_HTTP_ADDR"
		run := func(addr string) (string, int) {
			cmd := exec.Command(filepath.Join(bin, test[1]), test[2:]...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for key, value := range svc.Environment {
				if value != nil && key != variable {
					cmd.Env = append(cmd.Env, key+"="+*value)
				}
			}
			// The service's own listen address with the port moved: a
			// wildcard host stays a wildcard, which the command turns into
			// loopback, as in the container.
			host := ""
			if value := svc.Environment[variable]; value != nil {
				var err error
				host, _, err = net.SplitHostPort(*value)
				require.NoError(t, err)
			}
			cmd.Env = append(cmd.Env, variable+"="+net.JoinHostPort(host, strconv.Itoa(mustPort(t, addr))))
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return string(out), exit.ExitCode()
			}
			require.NoError(t, err, "%s: %s", name, out)
			return string(out), 0
		}

		mu.Lock()
		asked = nil
		mu.Unlock()
		out, code := run("127.0.0.1:" + port)
		require.Equal(t, 0, code, "%s: %s", name, out)
		path := healthPath[test[1]]
		if path == "" {
			path = "/api/health/"
		}
		mu.Lock()
		require.Equal(t, []string{"GET " + path}, asked, "%s asks its health endpoint once", name)
		mu.Unlock()
		require.Equal(t, 1, strings.Count(out, "\n"), "%s prints one line: %q", name, out)

		out, code = run(closed)
		require.Equal(t, 1, code, "%s with nothing listening: %s", name, out)
		require.Contains(t, out, test[1]+": unhealthy: ", name)
		require.Contains(t, out, ":"+strconv.Itoa(mustPort(t, closed))+path, name)
	}
	require.Greater(t, probed, len(d.subgraphs), "every subgraph, the worker, the router and the mail catcher")
}

func mustPort(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p
}
