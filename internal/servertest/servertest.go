// Package servertest holds what the tests of the packages around the
// library (control, metrics, the command) need to run a server and talk to
// it: one loop on 127.0.0.1:0, closed with the test.
package servertest

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// Start serves h with one loop on a free loopback port until the test ends.
func Start(tb testing.TB, h proactor.Handler, opts ...proactor.Option) (*proactor.Server, string) {
	tb.Helper()
	srv, err := proactor.NewServer(h, append(opts, proactor.WithLoops(1))...)
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
