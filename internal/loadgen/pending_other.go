//go:build !unix

package loadgen

import "net"

// peek: without a non-blocking peek, extra bytes are not looked for.
func peek(net.Conn) bool { return false }
