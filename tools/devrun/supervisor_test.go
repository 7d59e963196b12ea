package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as a child process that reports the signals it gets: it says "ready" only once
// its handler is in place, which a shell script cannot promise (a signal arriving just before sh
// forks a foreground command waits for that command to finish).
func TestMain(m *testing.M) {
	if os.Getenv("DEVRUN_TEST_CHILD") != "" {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		fmt.Println("ready")
		if fifo := os.Getenv("DEVRUN_TEST_FIFO"); fifo != "" {
			if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
				fmt.Println(err)
			}
		}
		fmt.Println("got", map[os.Signal]string{syscall.SIGINT: "INT", syscall.SIGTERM: "TERM"}[<-sigs])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// signalChild is the command of a child that prints "got INT" or "got TERM" when signalled.
func signalChild(env ...string) string {
	// Under -race a process sleeps a second at exit unless told otherwise.
	return fmt.Sprintf("DEVRUN_TEST_CHILD=1 GORACE=atexit_sleep_ms=0 %s exec '%s'", strings.Join(env, " "), os.Args[0])
}

func TestParseProcfile(t *testing.T) {
	got, err := parseProcfile(strings.NewReader(`
# comment
users:   bin/users --flag "a b"

router: FOO=1 bin/router
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []proc{{"users", `bin/users --flag "a b"`}, {"router", "FOO=1 bin/router"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	for _, bad := range []string{"", "# only a comment\n", "no colon here\n", "a: x\na: y\n", "a:\n"} {
		if _, err := parseProcfile(strings.NewReader(bad)); err == nil {
			t.Errorf("parseProcfile(%q): no error", bad)
		}
	}
}

func TestSelectProcs(t *testing.T) {
	all := []proc{{"a", "x"}, {"b", "y"}, {"c", "z"}}
	got, err := selectProcs(all, []string{"c", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []proc{{"a", "x"}, {"c", "z"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q (Procfile order)", got, want)
	}
	if _, err := selectProcs(all, []string{"nope"}); err == nil {
		t.Fatal("unknown name: no error")
	}
}

// output is an io.Writer that tests can wait on.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor blocks until every line in want has been written.
func (o *output) waitFor(t *testing.T, want ...string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		s, changed := o.buf.String(), o.changed
		o.mu.Unlock()
		if containsAll(s, want) {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("output never had %q; got:\n%s", want, s)
		}
	}
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

type harness struct {
	out  *output
	stop chan os.Signal
	done chan error
}

func start(t *testing.T, timeout time.Duration, procs ...proc) *harness {
	t.Helper()
	return startRepeat(t, timeout, 0, procs...)
}

func startRepeat(t *testing.T, timeout, repeat time.Duration, procs ...proc) *harness {
	t.Helper()
	h := &harness{out: newOutput(), stop: make(chan os.Signal, 2), done: make(chan error, 1)}
	s := &supervisor{Dir: t.TempDir(), Timeout: timeout, Repeat: repeat, Out: h.out}
	go func() { h.done <- s.Run(procs, h.stop) }()
	return h
}

func (h *harness) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("Run did not return; output:\n%s", h.out)
		return nil
	}
}

func TestPrefixesEveryLine(t *testing.T) {
	fifo := mkfifo(t)
	// a writes only after longname has, then exits: every line of both must be there, whole.
	h := start(t, 5*time.Second,
		proc{"a", `read x < ` + fifo + `; printf 'one\ntwo\n'; echo err >&2; printf 'no newline'`},
		proc{"longname", `echo hi; echo go > ` + fifo + `; exec sleep 60`},
	)
	err := h.result(t)
	if err == nil || !strings.Contains(err.Error(), "a exited unexpectedly (exit status 0)") {
		t.Fatalf("Run = %v, want a's exit reported\n%s", err, h.out)
	}
	h.out.waitFor(t, "a        | one\n", "a        | two\n", "a        | err\n", "a        | no newline\n",
		"longname | hi\n", "devrun   | longname stopped (signal 15, terminated)\n")
}

func TestForwardsSignals(t *testing.T) {
	for _, tc := range []struct {
		send os.Signal
		want string
	}{
		{syscall.SIGINT, "INT"},
		{syscall.SIGTERM, "TERM"},
		{syscall.SIGHUP, "TERM"}, // a closed terminal stops the processes gracefully
	} {
		t.Run(tc.send.String(), func(t *testing.T) {
			h := start(t, 5*time.Second, proc{"a", signalChild()}, proc{"b", signalChild()})
			h.out.waitFor(t, "a      | ready", "b      | ready")
			h.stop <- tc.send
			if err := h.result(t); err != nil {
				t.Fatalf("Run: %v\n%s", err, h.out)
			}
			h.out.waitFor(t, "a      | got "+tc.want, "b      | got "+tc.want)
		})
	}
}

func TestOneExitStopsAll(t *testing.T) {
	fifo := mkfifo(t)
	// a exits only once b handles SIGTERM, so that b's SIGTERM is observable.
	h := start(t, 5*time.Second,
		proc{"a", `read x < ` + fifo + `; echo bye; exit 3`},
		proc{"b", signalChild("DEVRUN_TEST_FIFO=" + fifo)},
	)
	err := h.result(t)
	if err == nil || !strings.Contains(err.Error(), "a exited unexpectedly (exit status 3)") {
		t.Fatalf("Run = %v, want a's exit reported\n%s", err, h.out)
	}
	h.out.waitFor(t, "a      | bye", "b      | got TERM", "b stopped (exit status 0)")
}

func mkfifo(t *testing.T) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return fifo
}

func TestKillsAfterTimeout(t *testing.T) {
	// Ignored signals stay ignored across exec, so neither sh nor sleep reacts to SIGTERM.
	h := start(t, 100*time.Millisecond, proc{"stubborn", `trap '' TERM INT; echo ready; sleep 60`})
	h.out.waitFor(t, "stubborn | ready")
	h.stop <- syscall.SIGTERM
	err := h.result(t)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Run = %v, want an error about killing\n%s", err, h.out)
	}
	h.out.waitFor(t, "still running after 100ms: killing all", "stubborn stopped (signal 9, killed)")
}

func TestSecondSignalKills(t *testing.T) {
	h := start(t, time.Hour, proc{"stubborn", `trap '' TERM INT; echo ready; sleep 60`})
	h.out.waitFor(t, "stubborn | ready")
	h.stop <- syscall.SIGINT
	h.out.waitFor(t, "stopping all (interrupt)")
	h.stop <- syscall.SIGINT
	if err := h.result(t); err == nil {
		t.Fatalf("Run = nil, want an error about killing\n%s", h.out)
	}
}

func TestDuplicateSignalIsNotASecond(t *testing.T) {
	h := startRepeat(t, 5*time.Second, time.Hour, proc{"a", signalChild()})
	h.out.waitFor(t, "a      | ready")
	h.stop <- syscall.SIGINT
	h.stop <- syscall.SIGINT
	if err := h.result(t); err != nil {
		t.Fatalf("Run: %v, want a graceful stop\n%s", err, h.out)
	}
	h.out.waitFor(t, "a      | got INT", "a stopped (exit status 0)")
}

func TestStragglerInGroupIsKilled(t *testing.T) {
	// The background sleep ignores SIGINT (asynchronous commands of a non-interactive shell do)
	// and keeps the output pipe open after its shell has gone: the group kill must end it.
	h := start(t, 100*time.Millisecond, proc{"a", `sh -c 'echo straggler up; exec sleep 60' & wait`})
	h.out.waitFor(t, "a      | straggler up")
	h.stop <- syscall.SIGINT
	if err := h.result(t); err == nil {
		t.Fatalf("Run = nil, want an error about killing\n%s", h.out)
	}
}

func TestStartFailure(t *testing.T) {
	s := &supervisor{Dir: filepath.Join(t.TempDir(), "missing"), Timeout: time.Second, Out: newOutput()}
	if err := s.Run([]proc{{"a", "true"}}, nil); err == nil {
		t.Fatal("Run in a missing directory: no error")
	}
}
