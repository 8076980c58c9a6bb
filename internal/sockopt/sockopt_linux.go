package sockopt

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func deferAccept(fd uintptr, d time.Duration) (bool, error) {
	secs := max(int((d+time.Second-1)/time.Second), 1)
	err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, secs)
	if err != nil {
		return true, os.NewSyscallError("setsockopt", err)
	}
	return true, nil
}
