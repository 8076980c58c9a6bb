//go:build !unix

package loadgen

import "net"

// pending: without a non-blocking peek, extra bytes are not looked for.
func pending(*net.TCPConn) bool { return false }
