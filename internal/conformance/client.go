package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/internal/selfcert"
)

// TLS makes a backend run every case over TLS: the servers and Clients the
// cases start speak it with these configurations, and the cases' own
// clients (dial) speak it over their TCP connections.
type TLS struct {
	Server *tls.Config // for proactor's servers
	Client *tls.Config // for the cases' clients and proactor's Clients
}

// NewTLS returns configurations around a fresh self-signed certificate for
// 127.0.0.1, which the client side trusts.
func NewTLS() (*TLS, error) {
	cert, leaf, err := selfcert.New(time.Hour, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	return &TLS{
		Server: &tls.Config{Certificates: []tls.Certificate{cert}},
		Client: &tls.Config{RootCAs: selfcert.Pool(leaf), ServerName: "127.0.0.1"},
	}, nil
}

// serverOptions are the options of a server of the backend beyond its
// engine's: ServerOptions, and TLS if the backend speaks it. For the cases
// that build their servers without serve, too.
func (b Backend) serverOptions() []proactor.Option {
	opts := append([]proactor.Option{}, b.ServerOptions...)
	if b.TLS != nil {
		opts = append(opts, proactor.WithTLS(b.TLS.Server))
	}
	return opts
}

// clientTLS is the option that makes a proactor Client of the backend
// speak TLS.
func (b Backend) clientTLS() []proactor.Option {
	if b.TLS == nil {
		return nil
	}
	return []proactor.Option{proactor.WithTLS(b.TLS.Client)}
}

// clientOptions are the options of a proactor Client of the backend.
func (b Backend) clientOptions() []proactor.Option {
	return append(append([]proactor.Option{}, b.Options...), b.clientTLS()...)
}

// clientConn is a case's client: the TCP connection, or TLS over it. The
// embedded Conn is what the case reads and writes (plaintext); the methods
// that *net.TCPConn has beyond net.Conn act on the TCP connection, TLS
// first where TLS has its say.
type clientConn struct {
	net.Conn           // the stream: tcp itself, or a *tls.Conn over it
	tcp      sockConn  // the socket: a *net.TCPConn, or a *net.UnixConn
	tls      *tls.Conn // nil for plain TCP
	reset    bool      // SetLinger(0) was called: Close resets
}

// sockConn is what the cases use of *net.TCPConn and *net.UnixConn.
type sockConn interface {
	net.Conn
	CloseWrite() error
	SetReadBuffer(int) error
}

// CloseWrite half-closes: a close_notify over TLS, then the FIN.
func (c *clientConn) CloseWrite() error {
	if c.tls != nil {
		if err := c.tls.CloseWrite(); err != nil {
			return err
		}
	}
	return c.tcp.CloseWrite()
}

// SetLinger sets the socket's linger; with 0, Close resets the connection
// without a close_notify first, as an abort does.
func (c *clientConn) SetLinger(sec int) error {
	tc, ok := c.tcp.(*net.TCPConn)
	if !ok {
		return errors.New("conformance: a unix socket has no linger")
	}
	c.reset = sec == 0
	return tc.SetLinger(sec)
}

func (c *clientConn) SetReadBuffer(n int) error { return c.tcp.SetReadBuffer(n) }

// Close closes: over TLS a close_notify goes before the FIN, unless the
// linger is 0 (a reset).
func (c *clientConn) Close() error {
	if c.reset {
		return c.tcp.Close()
	}
	return c.Conn.Close()
}

// Raw is the TCP connection under TLS, for a case that watches the socket
// itself: a reset that comes before any TLS was spoken.
func (c *clientConn) Raw() net.Conn { return c.tcp }

// dial connects to addr; over TLS it returns once the handshake is done,
// as a plain dial returns once connected, so the server's OnOpen follows
// as it would for plain TCP.
func dial(t testing.TB, b Backend, addr string) *clientConn {
	t.Helper()
	c := dialLazy(t, b, addr)
	if c.tls != nil {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := c.tls.HandshakeContext(ctx); err != nil {
			t.Fatalf("TLS handshake with %s: %v", addr, err)
		}
	}
	return c
}

// dialLazy connects to addr; over TLS the handshake waits for the first
// Read or Write, so the client stays silent until then: for a server that
// is paused, or a client that must say nothing.
func dialLazy(t testing.TB, b Backend, addr string) *clientConn {
	t.Helper()
	c, err := net.DialTimeout(b.network(), addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return clientOf(t, b, c)
}

// clientOf wraps a connected socket as the backend's client, closed when
// the test ends.
func clientOf(t testing.TB, b Backend, c net.Conn) *clientConn {
	c.SetDeadline(time.Now().Add(testTimeout))
	cc := &clientConn{Conn: c, tcp: c.(sockConn)}
	if b.TLS != nil {
		cc.tls = tls.Client(c, b.TLS.Client)
		cc.Conn = cc.tls
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// sendLater writes msg from another goroutine: to a client dialled while
// the server is paused, whose TLS handshake (which the write starts)
// cannot finish until the server resumes. The error comes on the channel.
func sendLater(c *clientConn, msg []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		done <- err
	}()
	return done
}
