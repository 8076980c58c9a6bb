package epoll

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

func accept(lfd int, local netip.AddrPort) (driver.Sock, error) {
	fd, sa, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return driver.Sock{FD: -1}, err
	}
	s := driver.Sock{FD: fd, Peer: sock.AddrPort(sa), Local: local}
	if !local.IsValid() {
		if sa, err := unix.Getsockname(fd); err == nil {
			s.Local = sock.AddrPort(sa)
		}
	}
	sock.SetNoDelay(fd)
	return s, nil
}
