//go:build !race

package proactor_test

import (
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/seed487d475b/proactor"
)

// markEcho echoes each read and marks it; OnWritten counts the marks.
type markEcho struct {
	proactor.BaseHandler
	written atomic.Int64
}

func (h *markEcho) OnData(c *proactor.Conn, data []byte) {
	c.Write(data)
	c.Mark()
}

func (h *markEcho) OnWritten(_ *proactor.Conn, _ uint64, err error) {
	if err == nil {
		h.written.Add(1)
	}
}

// TestMarkAllocs asserts that completion notices cost no allocation per
// message once a connection has marked: a Mark per echoed message and its
// OnWritten, on epoll (see TestEchoPathAllocs for why epoll only).
func TestMarkAllocs(t *testing.T) {
	h := &markEcho{}
	srv, err := proactor.NewServer(h, proactor.WithEngineName("epoll"), proactor.WithLoops(1))
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
		t.Fatalf("%v allocations per marked message; want 0", n)
	}
	if h.written.Load() < 2000 {
		t.Fatalf("%d marks reported; want at least 2000", h.written.Load())
	}
}
