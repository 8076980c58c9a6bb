package uring

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// accepted completes a socket that a multishot accept installed: the
// multishot form reports no address, so the peer's comes from getpeername.
func accepted(fd int, local netip.AddrPort) driver.Sock {
	s := driver.Sock{FD: fd, Local: local}
	if sa, err := unix.Getpeername(fd); err == nil {
		s.Peer = sock.AddrPort(sa)
	}
	if !local.IsValid() {
		if sa, err := unix.Getsockname(fd); err == nil {
			s.Local = sock.AddrPort(sa)
		}
	}
	sock.SetNoDelay(fd)
	return s
}
