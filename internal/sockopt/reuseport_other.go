//go:build !(linux || dragonfly || freebsd)

package sockopt

import (
	"errors"
	"syscall"
)

// reusePort: elsewhere (macOS, OpenBSD, NetBSD, Windows, ...) the kernel
// either lacks SO_REUSEPORT or gives one socket of the group every
// connection, which would leave the other loops idle.
func reusePort(syscall.RawConn) error { return errors.ErrUnsupported }
