package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// supervisor runs processes together: each in its own process group (so a signal reaches a
// process and everything it started), its output prefixed with its name, all stopped as one.
type supervisor struct {
	Dir     string        // working directory of every process
	Timeout time.Duration // how long processes get to stop before SIGKILL
	// Repeat is how soon after the first stop signal another one counts as a second request
	// rather than the same one delivered twice (by a terminal to the whole process group and by
	// a parent such as timeout(1), say).
	Repeat time.Duration
	Out    io.Writer // every prefixed line goes here
	Color  bool      // ANSI colours on the prefixes

	mu    sync.Mutex // one line at a time on Out
	width int
}

type child struct {
	proc
	cmd    *exec.Cmd
	out    *os.File // read end of the process's stdout and stderr
	prefix string
}

type exited struct {
	c   *child
	err error
}

var palette = []int{36, 33, 32, 35, 34, 96, 93, 92, 95, 94}

// shell runs the commands. bash execs the last command of `bash -c` itself, so that the
// process devrun waits for is the program rather than a shell that a signal ends first; dash,
// Debian's sh, keeps itself in between.
var shell = func() string {
	if p, err := exec.LookPath("bash"); err == nil {
		return p
	}
	return "/bin/sh"
}()

// Run starts procs and returns once every one has stopped and all its output is written. A signal
// on stop is forwarded to every process group (SIGHUP as SIGTERM); a second one, or the Timeout
// running out, kills them. A process exiting on its own stops the others, and Run then returns an
// error naming it, as it does when anything had to be killed.
func (s *supervisor) Run(procs []proc, stop <-chan os.Signal) error {
	s.width = len("devrun")
	for _, p := range procs {
		s.width = max(s.width, len(p.Name))
	}
	exits := make(chan exited, len(procs))
	drained := make(chan *child, len(procs))
	var children []*child
	for i, p := range procs {
		c, err := s.start(p, palette[i%len(palette)], exits, drained)
		if err != nil {
			s.logf("%v", err)
			s.signalAll(children, syscall.SIGKILL)
			s.wait(children, exits, drained)
			return err
		}
		children = append(children, c)
	}

	var (
		failure  error
		stopping bool
		since    time.Time // when stopping began
		killed   bool
		deadline <-chan time.Time // the Timeout after the first stop signal
		abandon  <-chan time.Time // after SIGKILL, stop waiting for output held open elsewhere
		running  = len(children)
		pending  = len(children) // output streams not yet at EOF
	)
	shutdown := func(sig syscall.Signal) {
		stopping, since = true, time.Now()
		s.logf("stopping all (%v)", sig)
		s.signalAll(children, sig)
		deadline = time.After(s.Timeout)
	}
	kill := func(why string) {
		if !killed {
			s.logf("%s: killing all", why)
		}
		killed = true
		s.signalAll(children, syscall.SIGKILL)
		deadline, abandon = nil, time.After(time.Second)
	}
	for running > 0 || pending > 0 {
		select {
		case e := <-exits:
			running--
			if stopping {
				s.logf("%s stopped (%s)", e.c.Name, describe(e.err))
				break
			}
			failure = fmt.Errorf("%s exited unexpectedly (%s)", e.c.Name, describe(e.err))
			s.logf("%v", failure)
			shutdown(syscall.SIGTERM)
		case <-drained:
			pending--
		case sig := <-stop:
			if stopping {
				if time.Since(since) >= s.Repeat {
					kill("second signal")
				}
				break
			}
			forward := syscall.SIGTERM
			if sig == syscall.SIGINT {
				forward = syscall.SIGINT
			}
			shutdown(forward)
		case <-deadline:
			kill(fmt.Sprintf("still running after %v", s.Timeout))
		case <-abandon:
			// Something outside the process groups (a daemon that called setsid) keeps the
			// output open: stop reading, or Run would wait for it forever.
			for _, c := range children {
				_ = c.out.Close() // unblocks the reader; a read end has nothing to flush
			}
			abandon = nil
		}
	}
	if failure == nil && killed {
		failure = errors.New("processes had to be killed")
	}
	return failure
}

func (s *supervisor) start(p proc, color int, exits chan<- exited, drained chan<- *child) (*child, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(shell, "-c", p.Command)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c := &child{proc: p, cmd: cmd, out: r, prefix: s.prefix(p.Name, color)}
	err = cmd.Start()
	_ = w.Close() // the child has its copy; EOF on r means every holder is gone
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	go func() {
		s.copyLines(c.prefix, r)
		drained <- c
	}()
	go func() { exits <- exited{c, cmd.Wait()} }()
	return c, nil
}

// wait collects children that failed to start along with the rest; only used on a start error.
func (s *supervisor) wait(children []*child, exits <-chan exited, drained <-chan *child) {
	for range children {
		<-exits
		<-drained
	}
}

func (s *supervisor) signalAll(children []*child, sig syscall.Signal) {
	for _, c := range children {
		// The negative pid addresses the group, which outlives its leader while stragglers remain.
		if err := syscall.Kill(-c.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.logf("signal %s: %v", c.Name, err)
		}
	}
}

func (s *supervisor) prefix(name string, color int) string {
	if !s.Color {
		return fmt.Sprintf("%-*s | ", s.width, name)
	}
	return fmt.Sprintf("\x1b[%dm%-*s |\x1b[0m ", color, s.width, name)
}

// copyLines writes each line of r to Out behind prefix, whole lines only, so that the output of
// concurrent processes never interleaves within a line.
func (s *supervisor) copyLines(prefix string, r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			s.mu.Lock()
			_, _ = fmt.Fprint(s.Out, prefix, strings.TrimSuffix(line, "\n"), "\n")
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (s *supervisor) logf(format string, args ...any) {
	color := 1 // bold
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = fmt.Fprint(s.Out, s.prefix("devrun", color), fmt.Sprintf(format, args...), "\n")
}

func describe(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("signal %d, %v", ws.Signal(), ws.Signal())
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}
