package conformance

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// SocketOptions reads the options of this process's TCP socket from local
// to peer: the engines keep their descriptors to themselves, but they live
// in this process, so /proc/self/fd finds the one whose addresses match.
// Elsewhere it fails with errors.ErrUnsupported.
func SocketOptions(local, peer net.Addr) (TCPOptions, error) {
	want := [2]netip.AddrPort{addrPort(local), addrPort(peer)}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return TCPOptions{}, err
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if socketAddrs(fd) != want {
			continue // not a socket, another socket, or closed meanwhile
		}
		get := func(level, opt int) int {
			x, gerr := unix.GetsockoptInt(fd, level, opt)
			err = errors.Join(err, gerr)
			return x
		}
		o := TCPOptions{
			KeepAlive: get(unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0,
			Idle:      get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE),
			Interval:  get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL),
			Count:     get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
			NoDelay:   get(unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0,
		}
		if !o.KeepAlive {
			o.Idle, o.Interval, o.Count = 0, 0, 0
		}
		return o, err
	}
	return TCPOptions{}, fmt.Errorf("no socket of this process from %v to %v", local, peer)
}

func socketAddrs(fd int) (a [2]netip.AddrPort) {
	if sa, err := unix.Getsockname(fd); err == nil {
		a[0] = sockaddrPort(sa)
	}
	if sa, err := unix.Getpeername(fd); err == nil {
		a[1] = sockaddrPort(sa)
	}
	return a
}

func sockaddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
