package uring

import (
	"net/netip"

	"golang.org/x/sys/unix"

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

// listenQueue returns how many connections wait in a TCP listening
// socket's accept queue (TCP_INFO's tcpi_unacked on a listener), or an
// error for a socket that does not say (a unix socket).
func listenQueue(fd int) (int, error) {
	ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, err
	}
	return int(ti.Unacked), nil
}

// closeUnserved ends a connection accepted for a listener that Unlisten
// has closed since: nobody will serve it, so the client gets an orderly
// end of stream, as Shutdown gives a connection that owes nothing, rather
// than a reset or no answer at all. What the client has sent already is
// read and dropped first (up to unservedRead), since closing a socket
// with input unread sends a reset instead of the FIN.
func closeUnserved(fd int) {
	var buf [4096]byte
	for n := 0; n < unservedRead; {
		k, err := unix.Read(fd, buf[:])
		if k <= 0 || err != nil {
			break
		}
		n += k
	}
	unix.Close(fd)
}

const unservedRead = 64 << 10
