//go:build linux || dragonfly || freebsd

package sockopt

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func reusePort(c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, reusePortOpt, 1)
	})
	if err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt", serr)
}
