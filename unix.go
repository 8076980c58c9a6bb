package proactor

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/unixsock"
)

// Unix domain stream sockets. A server listens on one with
// Listen("unix:/path"), or serves a *net.UnixListener of its own; a Client
// dials one with Dial(ctx, "unix", "/path"). Everything else is as over TCP
// on every engine, except what needs TCP or an IP address:
//
//   - A unix peer has no IP address: Conn.RemoteAddrPort is the zero
//     AddrPort and RemoteAddr a *net.UnixAddr (the path for a Client's
//     connection, usually empty for an accepted one). The rules that match
//     an address (WithAllow, WithDeny, WithMaxConnsPerIP) do not apply to
//     such a peer: the socket file's owner and mode (WithUnixSocketMode)
//     are the access control. WithMaxConns counts it, and OnAccept sees the
//     zero AddrPort. Behind WithProxyProtocol the header's client address
//     becomes the peer's, and every rule applies to it as over TCP.
//   - There is no TCP_NODELAY, keepalive, deferred accept or reuse-port
//     group: those options are ignored on a unix listener, except
//     WithReusePort, which Listen refuses (ErrReusePort).
//   - There is no reset: Abort and the resets of the protection options
//     close the socket, and the peer sees an end of stream.

// unixPrefix marks a unix socket's path in an address given to Listen.
const unixPrefix = "unix:"

// defaultUnixMode lets the server's user and group connect.
const defaultUnixMode fs.FileMode = 0o660

// WithUnixSocketMode sets the permission bits of the socket file that
// Listen("unix:PATH") creates: connecting needs write permission on it.
// The mode holds from the moment the socket can be connected to (it is
// bound in a private directory, given its mode there and then linked into
// place). A listener option. Default: 0660, the server's user and group.
func WithUnixSocketMode(mode fs.FileMode) Option {
	return scoped("WithUnixSocketMode", onListener, func(c *config) { c.unixMode = mode })
}

// listenUnix listens on the unix socket at path. A socket file there that
// nobody answers on (left by a server that died) is replaced; a live one
// is not, nor anything that is not a socket. The file is removed when the
// listener closes, if it is still the one made here.
func (s *Server) listenUnix(path string, opts []Option) (net.Addr, error) {
	cfg, err := s.listenConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.reusePort {
		return nil, fmt.Errorf("%w: a unix socket has no reuse-port group: %s", ErrReusePort, path)
	}
	mode := cfg.unixMode
	if mode == 0 {
		mode = defaultUnixMode
	}
	ln, err := unixsock.Listen(path, mode)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: err}
	}
	if _, err := s.start(ln, opts, nil); err != nil {
		return nil, err
	}
	return ln.Addr(), nil
}

// noteUnix marks the configuration of a listener on a unix socket.
func (c *config) noteUnix(ln net.Listener) {
	if a, ok := ln.Addr().(*net.UnixAddr); ok {
		c.unix, c.unixPath = true, a.Name
	}
}

// kindUnix marks an addrPort as a unix socket's: no IP, no port.
const kindUnix = 1

// unixAddr is the *net.UnixAddr of a connection's end on a unix socket:
// the listener's path for an accepted connection's local end, the path
// dialed for a Client's remote end, and unnamed otherwise.
func (c *Conn) unixAddr(local bool) net.Addr {
	name := ""
	switch {
	case local && c.srv().server != nil:
		name = c.cfg.unixPath
	case !local && c.srv().server == nil && c.ext != nil:
		name = c.ext.serverName
	}
	return &net.UnixAddr{Name: name, Net: "unix"}
}

// dialUnix connects to the unix socket at path from the caller's
// goroutine (a unix connect completes or fails at once, so no loop waits
// for it) and hands the socket over in the engine's form.
func (cl *Client) dialUnix(ctx context.Context, path string) (driver.Sock, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if op, ok := err.(*net.OpError); ok {
			err = op.Err // Dial wraps it in its own
		}
		return driver.Sock{}, err
	}
	return cl.eng.drv.Adopt(nc)
}

// adoptDial opens a Client's connection on a socket connected already:
// attached, then on as a connect that completed.
func (l *loop) adoptDial(c *Conn, s driver.Sock) {
	c.openedAt = l.now
	c.tok = l.allocSlot()
	if err := l.poller.Attach(c.tok, s); err != nil {
		l.freeSlot(c.tok)
		l.poller.Discard(s)
		c.connecting = false
		c.closed = true
		c.ext.res <- dialResult{err: err}
		return
	}
	l.setConn(c)
	l.Connected(c.tok, s, nil)
}

// closeSock closes a socket that no engine took.
func closeSock(s driver.Sock) {
	if s.Conn != nil {
		s.Conn.Close()
	} else if s.FD >= 0 {
		os.NewFile(uintptr(s.FD), "").Close()
	}
}

// isUnixAddr reports whether addr names a unix socket for Listen.
func isUnixAddr(addr string) (string, bool) { return strings.CutPrefix(addr, unixPrefix) }
