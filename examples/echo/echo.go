// Package echo is the simplest proactor server: every byte read is written
// back, and a peer's FIN is answered by a graceful close once the echo has
// been sent.
package echo

import "github.com/seed487d475b/proactor"

// DefaultAddr is where `proactor serve echo` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5001"

// Handler echoes. It is stateless, so one value serves every connection.
type Handler struct{ proactor.BaseHandler }

// OnData writes the bytes back; Write copies them, so the read buffer may be
// reused as soon as OnData returns. A refused write (the connection is
// closing, or its queue overflowed) means the echo cannot be delivered
// whole: the connection is aborted, never left with a hole in its stream.
func (Handler) OnData(c *proactor.Conn, data []byte) {
	if _, err := c.Write(data); err != nil {
		c.Abort()
	}
}
