//go:build unix

package loadgen

import (
	"net"
	"syscall"
)

// peek reports whether bytes wait unread in c's socket, without waiting: a
// non-blocking peek (a read deadline in the past would not read at all).
func peek(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, _ = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // done either way: never wait for readiness
	})
	return n > 0
}
