// Package redistest starts a private redis-server per test, listening on a
// unix socket in the test's temp dir, so tests never share keys and can stop
// and restart "their" Redis to test failure handling.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server process owned by one test.
type Server struct {
	t      testing.TB
	dir    string
	socket string
	cmd    *exec.Cmd
}

// Start launches a redis-server and waits until it accepts connections.
func Start(t testing.TB) *Server {
	t.Helper()
	// Unix socket paths are limited to ~100 bytes: t.TempDir() can be longer.
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	s := &Server{t: t, dir: dir, socket: filepath.Join(dir, "redis.sock")}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the URL of database db on this server.
func (s *Server) URL(db int) string { return fmt.Sprintf("unix://%s?db=%d", s.socket, db) }

// Addr returns the unix socket path (for clients that take network+address).
func (s *Server) Addr() string { return s.socket }

// Stop kills the server; data is lost (it keeps nothing on disk).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	_ = os.Remove(s.socket)
}

// Freeze stops the server without closing anything (SIGSTOP): connections
// are still accepted by the kernel and commands are never answered, like a
// Redis that hangs or sits behind a dead network path. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server; what was sent meanwhile is answered.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("redistest: the server is stopped")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v: %v", sig, err)
	}
}

// Restart starts the server again after Stop (or for the first time).
func (s *Server) Restart() {
	s.t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		s.t.Fatalf("redistest: redis-server is not installed (scripts/services.sh ensure installs it): %v", err)
	}
	cmd := exec.Command(path, "--port", "0", "--unixsocket", s.socket, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--databases", "16")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		conn, err := net.Dial("unix", s.socket)
		if err == nil {
			_ = conn.Close() // only dialled to see the server listening
			return
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("redistest: redis-server did not start: %v", err)
		case <-time.After(5 * time.Millisecond): // polling a socket that appears within milliseconds
		}
	}
}
