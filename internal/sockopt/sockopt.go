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
// arrived (TCP_DEFER_ACCEPT on Linux), holding a client that sends nothing
// for the longest wait it can that is no longer than max. It returns that
// wait, 0 when max is shorter than the kernel's shortest (deferring is then
// off), and whether the platform defers at all; elsewhere it does nothing.
// The kernel's timers fire a little late, so a silent client is handed
// over slightly after the wait; earlier only if it sends or ends, or if the
// kernel admitted it with a SYN cookie (under a SYN flood), which skips
// the wait.
func SetDeferAccept(ln net.Listener, max time.Duration) (wait time.Duration, supported bool, err error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return 0, false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { wait, supported, serr = deferAccept(fd, max) }); err != nil {
		return 0, false, err
	}
	return wait, supported, serr
}

// ReusePort is a net.ListenConfig Control function that sets SO_REUSEPORT
// before the socket is bound, so that several sockets may listen on one
// address; where the OS lacks it, it fails with errors.ErrUnsupported.
func ReusePort(_, _ string, c syscall.RawConn) error { return reusePort(c) }
