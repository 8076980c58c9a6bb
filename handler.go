package proactor

import "net/netip"

// Handler reacts to completed I/O on a connection. All callbacks of one
// connection run on its loop goroutine, one at a time and in order: OnOpen,
// then any number of OnData, then at most one OnPeerClosed, then exactly one
// OnClose. Callbacks must not block: long work belongs in another goroutine,
// which may call the connection's goroutine-safe methods (Write, Close, ...).
type Handler interface {
	// OnOpen is called once a connection is accepted, before any OnData. It
	// may write a greeting.
	OnOpen(c *Conn)
	// OnData is called with the bytes of one read. data is valid only until
	// OnData returns: it lies in the loop's read buffer, which the next read
	// overwrites. Echoing data (c.Write(data), or a part of it) is safe
	// and, on the epoll and uring engines, copies nothing: the bytes are
	// sent from the read buffer when OnData returns, and only what the
	// socket does not take then is copied. So data must not be changed
	// after it has been passed to Write; to transform it in place, do so
	// before writing it. Writing data to another connection is safe too,
	// and copies it.
	OnData(c *Conn, data []byte)
	// OnPeerClosed is called once when the peer has sent FIN. Reading stops;
	// the connection may go on writing (a half-closed connection) until it
	// calls Close or CloseWrite.
	OnPeerClosed(c *Conn)
	// OnClose is called exactly once, after the socket is gone. err is nil
	// after a clean close and says why otherwise: a wrapped ECONNRESET for a
	// reset, ErrAborted, ErrServerClosed, a *PanicError, ...
	OnClose(c *Conn, err error)
}

// BaseHandler implements Handler with defaults; embed it and override what
// you need. It ignores data, closes gracefully when the peer sends FIN, and
// does nothing on open and close.
type BaseHandler struct{}

// OnOpen does nothing.
func (BaseHandler) OnOpen(*Conn) {}

// OnData ignores the data.
func (BaseHandler) OnData(*Conn, []byte) {}

// OnPeerClosed closes the connection gracefully: queued writes are sent,
// then the socket is closed.
func (BaseHandler) OnPeerClosed(c *Conn) { c.Close() }

// OnClose does nothing.
func (BaseHandler) OnClose(*Conn, error) {}

// AcceptFilter is an optional Handler interface. OnAccept runs on a loop
// before any per-connection state exists; returning false closes the new
// connection at once.
type AcceptFilter interface {
	OnAccept(remote netip.AddrPort) bool
}

// WritableHandler is an optional Handler interface. OnWritable runs on the
// loop when a connection whose queued output passed the high watermark
// (Writable reported false) has drained to the low watermark, and reads
// again if it had stopped: a good moment to produce more output.
type WritableHandler interface {
	OnWritable(c *Conn)
}

// ShutdownHandler is an optional Handler interface. When the server shuts
// down, OnShutdown is called on each connection's loop instead of the
// default, which is a graceful Close. The handler should finish what is in
// progress and close the connection; Shutdown's context bounds the wait.
type ShutdownHandler interface {
	OnShutdown(c *Conn)
}
