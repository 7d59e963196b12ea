package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"supergraph/platform/config"
)

func TestLocalURL(t *testing.T) {
	for listen, want := range map[string]string{
		":8000":          "http://127.0.0.1:8000/api/health/",
		"0.0.0.0:8090":   "http://127.0.0.1:8090/api/health/",
		"[::]:8080":      "http://127.0.0.1:8080/api/health/",
		"127.0.0.1:8001": "http://127.0.0.1:8001/api/health/",
		"10.1.2.3:8001":  "http://10.1.2.3:8001/api/health/",
		"[::1]:8001":     "http://[::1]:8001/api/health/",
		"localhost:8002": "http://localhost:8002/api/health/",
	} {
		got, err := LocalURL(listen, "/api/health/")
		require.NoError(t, err, listen)
		require.Equal(t, want, got, listen)
	}
	_, err := LocalURL("8000", "/api/health/")
	require.ErrorContains(t, err, `listen address "8000"`)
}

// A real server answering healthy, unhealthy, late, redirecting, or not
// listening at all.
func TestCheckHealth(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"status":"healthy"}`))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("{\"status\":\"unhealthy\",\n \"database\":\"disconnected\"}\n"))
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the slow handler
	ctx := context.Background()

	require.NoError(t, CheckHealth(ctx, srv.URL+"/ok", time.Second))

	err := CheckHealth(ctx, srv.URL+"/down", time.Second)
	require.EqualError(t, err, srv.URL+`/down answered 503 Service Unavailable: {"status":"unhealthy", "database":"disconnected"}`)

	start := time.Now()
	err = CheckHealth(ctx, srv.URL+"/slow", 200*time.Millisecond)
	require.EqualError(t, err, srv.URL+"/slow: no answer within 200ms")
	require.Less(t, time.Since(start), 2*time.Second)

	err = CheckHealth(ctx, srv.URL+"/moved", time.Second)
	require.ErrorContains(t, err, "answered 301 Moved Permanently", "a redirect is not a health report")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/api/health/"
	require.NoError(t, ln.Close())
	err = CheckHealth(ctx, closed, time.Second)
	require.ErrorContains(t, err, closed+": dial tcp")
	require.ErrorContains(t, err, "connection refused")
	require.NotContains(t, err.Error(), "Get ", "the URL is said once")
}

// The health command of a binary built on Main: it reads the service's
// configuration from the environment, asks its health endpoint on the
// configured address, prints one line and exits 0 or 1, before any of
// what serving does (no configuration log, no run).
func TestHealthCommand(t *testing.T) {
	if addr, ok := os.LookupEnv("SERVER_TEST_HEALTH_ADDR"); ok {
		os.Args = []string{"demo", "health"}
		if extra := os.Getenv("SERVER_TEST_HEALTH_EXTRA"); extra != "" {
			os.Args = append(os.Args, extra)
		}
		var cfg testConfig
		config.Defaults(&cfg)
		cfg.HTTPAddr = addr // as a service's default address
		Main("demo", "DEMO_", cfg, func(context.Context, testConfig, *slog.Logger, []string) error {
			panic("health must not run the service")
		})
		os.Exit(3) // Main exits itself
	}
	run := func(addr string, env ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHealthCommand$")
		cmd.Env = append(os.Environ(), append([]string{"SERVER_TEST_HEALTH_ADDR=" + addr}, env...)...)
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

	var healthy atomic.Bool // read by the server, set here
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/health/" {
			http.NotFound(w, r)
			return
		}
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(`{"status":"…"}`))
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	// The default address, then one the environment sets (on every
	// interface, as in a container): both reached on loopback.
	healthy.Store(true)
	out, errOut, code := run(srv.Listener.Addr().String())
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "demo: healthy (http://"+srv.Listener.Addr().String()+"/api/health/)\n", out)
	require.Empty(t, errOut, "nothing but the one line")
	out, _, code = run("127.0.0.1:1", "DEMO_HTTP_ADDR=:"+port)
	require.Equal(t, 0, code)
	require.Equal(t, "demo: healthy (http://127.0.0.1:"+port+"/api/health/)\n", out)

	healthy.Store(false)
	out, errOut, code = run(srv.Listener.Addr().String())
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
	require.Contains(t, errOut, "demo: unhealthy: http://"+srv.Listener.Addr().String()+"/api/health/ answered 503 Service Unavailable")

	// Nothing listening.
	_, errOut, code = run("127.0.0.1:1")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "demo: unhealthy: http://127.0.0.1:1/api/health/: dial tcp")

	// A configuration the service would refuse is unhealthy too (1: Docker
	// reserves 2).
	_, errOut, code = run(srv.Listener.Addr().String(), "DEMO_LOG_FORMAT=xml")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "demo: unhealthy: invalid configuration: LOG_FORMAT must be text or json")

	_, errOut, code = run(srv.Listener.Addr().String(), "SERVER_TEST_HEALTH_EXTRA=now")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `demo: health takes no arguments, got ["now"]`)
}
