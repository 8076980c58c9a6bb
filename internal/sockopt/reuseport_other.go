//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sockopt

import (
	"errors"
	"syscall"
)

func reusePort(syscall.RawConn) error { return errors.ErrUnsupported }
