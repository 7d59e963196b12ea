package ws

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// epoll tells when idle connections have something to read, so that an idle
// subscriber holds no goroutine (and no goroutine stack) of its own: with
// 10,000 subscribers that is most of the router's memory.
//
// Sockets are registered level-triggered and one-shot: a readable connection
// is reported once, handled on a fresh goroutine, and re-armed when its
// buffered input is used up. The epoll descriptor itself waits in Go's own
// poller (it is readable when events are ready), so no thread blocks in
// epoll_wait and closing it ends the loop.
type epoll struct {
	file   *os.File
	raw    syscall.RawConn // of file: its descriptor, held open while used
	lookup func(id int64) *conn
	once   sync.Once
}

func newPoller(lookup func(id int64) *conn) (poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// On failure the descriptor is given back; the error that matters is the
	// one returned, closing a descriptor never used has nothing to report.
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	p := &epoll{file: os.NewFile(uintptr(fd), "epoll"), lookup: lookup}
	if p.raw, err = p.file.SyscallConn(); err != nil {
		_ = p.file.Close()
		return nil, err
	}
	go p.run()
	return p, nil
}

func (p *epoll) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n := 0
		err := p.raw.Read(func(fd uintptr) bool {
			var err error
			n, err = syscall.EpollWait(int(fd), events, 0)
			return err == nil && n > 0 // else wait until the descriptor is readable
		})
		if err != nil {
			return // closed
		}
		for _, ev := range events[:n] {
			if c := p.lookup(int64(uint32(ev.Fd)) | int64(ev.Pad)<<32); c != nil {
				go c.onReadable()
			}
		}
	}
}

// arm reports c's next readability once.
func (p *epoll) arm(c *conn) error {
	if c.raw == nil {
		return errors.New("connection has no file descriptor")
	}
	var ctlErr error
	// Control holds a descriptor open while it runs: a connection (or poller)
	// closed meanwhile is refused, never confused with a new one on its number.
	err := c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{
			Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
			Fd:     int32(c.id),
			Pad:    int32(c.id >> 32),
		}
		op := syscall.EPOLL_CTL_MOD
		if !c.polled {
			op = syscall.EPOLL_CTL_ADD
		}
		if err := p.raw.Control(func(epfd uintptr) {
			ctlErr = syscall.EpollCtl(int(epfd), op, int(fd), &ev)
		}); err != nil {
			ctlErr = err
		}
		c.polled = c.polled || ctlErr == nil
	})
	if err != nil {
		return err
	}
	return ctlErr
}

// close ends run (its Read fails). Once only, so Close cannot fail on an
// already closed file; the kernel releases an epoll instance unconditionally.
func (p *epoll) close() { p.once.Do(func() { _ = p.file.Close() }) }
