// Package line is the seed articles' text protocol server, in the style of
// POP3 (RFC 1939): a greeting on connect, then command lines of at most
// MaxLine bytes, each answered by one line starting with "+OK" or "-ERR".
//
//	(connect)   +OK proactor line server ready
//	ECHO text   +OK text
//	TIME        +OK 2002-06-18T12:00:00Z   (the server's clock, RFC 3339)
//	STATS       +OK accepted=N active=N closed=N bytes_in=N bytes_out=N
//	QUIT        +OK bye, then the server closes the connection
//	anything    -ERR unknown command
//
// The command word is case-insensitive and ends at the first space; ECHO
// alone answers "+OK", and TIME, STATS and QUIT ignore what follows them.
// Several commands may arrive in one read and one command in several: the
// framer delivers whole lines. A line ends in CRLF or in a bare LF (what
// plain nc and `proactor dial` send; codec.Delimited's AcceptLF); replies
// always end in CRLF.
//
// # Over-long lines
//
// A line over MaxLine bytes is answered with "-ERR line too long" before
// the connection closes. A plain codec.Delimited cannot do that: it reports
// codec.ErrFrameTooLarge, and proactor then closes the connection before
// the handler sees anything. Framer therefore turns that error into a
// frame: the first MaxLine+1 bytes of the line, which the handler tells from
// a real line by its length. The handler answers and calls Close, after
// which proactor delivers no more data, so the rest of the line is read and
// discarded by the lingering close rather than taken for new commands.
package line

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// DefaultAddr is where `proactor serve line` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:5003"

// MaxLine is the longest command line, its line end excluded.
const MaxLine = 1024

// Greeting is the line a client reads first, as from a POP3 server.
const Greeting = "+OK proactor line server ready\r\n"

// lines is the wire format: lines of at most MaxLine bytes ended by CRLF or
// LF.
func lines() codec.Delimited { return codec.Delimited{MaxFrame: MaxLine, AcceptLF: true} }

// Framer is a ResumableFramer.
var _ codec.ResumableFramer = Framer{}

// Framer splits lines for proactor.WithFramer, without their CRLF or LF. A line
// over MaxLine bytes is not an error: its first MaxLine+1 bytes come back as
// one frame, so that a handler can recognise it by its length, answer, and
// close. A handler that went on reading would see the rest of the line as
// further lines. Framer is stateless, so one value serves every connection.
type Framer struct{}

// Next returns the first line in buf; see codec.Framer.
func (f Framer) Next(buf []byte) (frame []byte, n int, need int, err error) {
	return f.NextFrom(buf, 0)
}

// NextFrom is Next resuming the search for a line end where the previous call
// left off; see codec.ResumableFramer.
func (Framer) NextFrom(buf []byte, scanned int) (frame []byte, n int, need int, err error) {
	frame, n, need, err = lines().NextFrom(buf, scanned)
	if errors.Is(err, codec.ErrFrameTooLarge) {
		// Delimited reports the error only once buf holds more than MaxLine
		// bytes, so the slice is in range.
		return buf[: MaxLine+1 : MaxLine+1], MaxLine + 1, 0, nil
	}
	return frame, n, need, err
}

// Options returns the options that make a server or a listener speak the
// line protocol; give them to proactor.NewServer or Server.Listen.
func Options() []proactor.Option {
	return []proactor.Option{proactor.WithFramer(Framer{})}
}

// Handler answers the commands, one line each. It keeps no per-connection
// state, so one value serves every connection as long as Now is safe for
// concurrent use.
type Handler struct {
	proactor.BaseHandler
	// Now returns the time that TIME reports; nil means time.Now.
	Now func() time.Time
}

// OnOpen greets the client. A greeting that cannot be queued (the
// connection is already closing) leaves nothing to talk to.
func (h Handler) OnOpen(c *proactor.Conn) {
	if _, err := c.Write([]byte(Greeting)); err != nil {
		c.Abort()
	}
}

// OnData answers one line, which Options' framer delivers without its
// line end. The line is valid only until OnData returns; every reply is a copy.
func (h Handler) OnData(c *proactor.Conn, line []byte) {
	// A refused write (the connection is closing, or its queue overflowed)
	// leaves a reply undelivered: the connection is aborted rather than let
	// the client read the next reply as this one's.
	if err := h.answer(c, line); err != nil {
		c.Abort()
	}
}

// answer writes the reply to one line.
func (h Handler) answer(c *proactor.Conn, line []byte) error {
	if len(line) > MaxLine {
		if _, err := c.Write([]byte("-ERR line too long\r\n")); err != nil {
			return err
		}
		return c.Close()
	}
	var err error
	word, arg, hasArg := bytes.Cut(line, []byte(" "))
	switch {
	case is(word, "ECHO") && hasArg:
		_, err = c.Writev([][]byte{[]byte("+OK "), arg, []byte("\r\n")})
	case is(word, "ECHO"):
		_, err = c.Write([]byte("+OK\r\n"))
	case is(word, "TIME"):
		_, err = c.Write(fmt.Appendf(nil, "+OK %s\r\n", h.now().Format(time.RFC3339)))
	case is(word, "STATS"):
		st := c.Server().Stats()
		_, err = c.Write(fmt.Appendf(nil, "+OK accepted=%d active=%d closed=%d bytes_in=%d bytes_out=%d\r\n",
			st.Accepted, st.Active, st.Closed, st.BytesRead, st.BytesWritten))
	case is(word, "QUIT"):
		// Close sends what is queued before the FIN, so the reply arrives
		// first.
		if _, err = c.Write([]byte("+OK bye\r\n")); err == nil {
			err = c.Close()
		}
	default:
		_, err = c.Write([]byte("-ERR unknown command\r\n"))
	}
	return err
}

func (h Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// is reports whether word is the command name, ignoring case.
func is(word []byte, name string) bool { return bytes.EqualFold(word, []byte(name)) }
