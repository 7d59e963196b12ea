//go:build !linux

package ws

import "errors"

// Without epoll every connection reads on a goroutine of its own.
func newPoller(func(id int64) *conn) (poller, error) {
	return nil, errors.New("readiness polling needs Linux")
}
