// Package sockopt sets the socket options that proactor's policy needs on
// sockets it does not otherwise touch at the syscall level (listeners made
// by the net package). Per-OS files hold the system calls; elsewhere each
// option is a documented no-op.
package sockopt

import (
	"net"
	"syscall"
	"time"
)

// SetDeferAccept asks the kernel to complete accepts only once data has
// arrived, waiting at most about d (TCP_DEFER_ACCEPT on Linux). It reports
// whether the platform supports it; elsewhere it does nothing.
func SetDeferAccept(ln net.Listener, d time.Duration) (bool, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, err
	}
	supported := false
	var serr error
	if err := rc.Control(func(fd uintptr) { supported, serr = deferAccept(fd, d) }); err != nil {
		return false, err
	}
	return supported, serr
}

// ReusePort is a net.ListenConfig Control function that sets SO_REUSEPORT
// before the socket is bound, so that several sockets may listen on one
// address; where the OS lacks it, it fails with errors.ErrUnsupported.
func ReusePort(_, _ string, c syscall.RawConn) error { return reusePort(c) }
