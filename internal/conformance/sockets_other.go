//go:build !linux

package conformance

import (
	"errors"
	"net"
)

// socketOptions needs /proc/self/fd to find an engine's socket.
func SocketOptions(net.Addr, net.Addr) (TCPOptions, error) {
	return TCPOptions{}, errors.ErrUnsupported
}
