package uring

import (
	"net/netip"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/sock"
)

// accepted completes a socket that a multishot accept installed: the
// multishot form reports no address, so the peer's comes from getpeername.
func accepted(fd int, local netip.AddrPort, o driver.SockOptions) driver.Sock {
	s := driver.Sock{FD: fd, Local: local, Peer: sock.PeerName(fd)}
	if !local.IsValid() {
		s.Local = sock.LocalName(fd)
	}
	sock.SetOptions(fd, o)
	return s
}
