package epoll

import (
	"net/netip"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

func accept(lfd int, local netip.AddrPort, o driver.SockOptions) (driver.Sock, error) {
	fd, peer, err := sock.Accept(lfd)
	if err != nil {
		return driver.Sock{FD: -1}, err
	}
	s := driver.Sock{FD: fd, Peer: peer, Local: local}
	if !local.IsValid() {
		s.Local = sock.LocalName(fd)
	}
	sock.SetOptions(fd, o)
	return s, nil
}
