// Package servertest holds what the tests of the packages around the
// library (control, metrics, the command) need to run a server and talk to
// it: one loop on 127.0.0.1:0, closed with the test.
package servertest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// Start serves h on a free loopback port until the test ends, with one loop
// unless opts say otherwise.
func Start(tb testing.TB, h proactor.Handler, opts ...proactor.Option) (*proactor.Server, string) {
	tb.Helper()
	srv, err := proactor.NewServer(h, append([]proactor.Option{proactor.WithLoops(1)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return srv, a.String()
}

// Echo connects to addr, checks that msg comes back whole, and returns the
// open connection, closed when the test ends.
func Echo(tb testing.TB, addr, msg string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		tb.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		tb.Fatalf("echo of %q: %q, %v", msg, got, err)
	}
	return c
}

// Tool returns the path of a client program that no one here wrote (curl,
// openssl, redis-cli, wrk, ...). Where it is missing the test is skipped,
// except in CI (CI set), where .ci/run installs it and its absence fails.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is missing in CI (.ci/run installs it): %v", name, err)
		}
		tb.Skipf("%s is not installed: %v", name, err)
	}
	return p
}

// Client is a test's connection to a text protocol, with a buffered
// reader; the packages' own clients embed it and add their protocol.
type Client struct {
	T *testing.T
	C net.Conn
	R *bufio.Reader
}

// Dial connects to addr with every read and write bounded by limit, and
// closes the connection when the test ends.
func Dial(t *testing.T, addr string, limit time.Duration) *Client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dc := &deadlineConn{Conn: c, limit: limit}
	return &Client{T: t, C: dc, R: bufio.NewReader(dc)}
}

// deadlineConn bounds each Read and Write by limit from its start, not the
// connection's whole life: a test that moves megabytes over several
// requests on a loaded machine (-race, other packages' tests) may take
// longer than limit in all, and that is no failure; one call stuck that
// long is.
type deadlineConn struct {
	net.Conn
	limit time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.limit))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.limit))
	return c.Conn.Write(p)
}

// Send writes s.
func (cl *Client) Send(s string) {
	cl.T.Helper()
	if _, err := io.WriteString(cl.C, s); err != nil {
		cl.T.Fatal(err)
	}
}

// TCP returns the client's socket itself (C bounds each call), for what
// only a TCP connection does: a reset, a half-close.
func (cl *Client) TCP() *net.TCPConn {
	if dc, ok := cl.C.(*deadlineConn); ok {
		return dc.Conn.(*net.TCPConn)
	}
	return cl.C.(*net.TCPConn)
}
