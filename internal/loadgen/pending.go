package loadgen

import (
	"crypto/tls"
	"net"
	"time"
)

// pending reports whether bytes wait unread on c, without waiting. Over
// TLS that is a decrypted record that crypto/tls holds already, or raw
// bytes in the socket: the server's session tickets come with its first
// flight, before any reply, so whatever follows the last reply is more of
// the server's data (or an alert).
func pending(c net.Conn) bool {
	t, ok := c.(*tls.Conn)
	if !ok {
		return peek(c)
	}
	// A deadline already past makes a read return what crypto/tls holds
	// without a system call; its timeout is temporary, and the connection
	// stays usable.
	t.SetReadDeadline(time.Unix(1, 0))
	var b [1]byte
	n, _ := t.Read(b[:])
	t.SetReadDeadline(time.Time{})
	return n > 0 || peek(t.NetConn())
}
