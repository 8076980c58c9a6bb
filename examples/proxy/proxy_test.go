package proxy_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/examples/proxy"
)

// TestProxyOnOneEngine runs a backend, a proxy with two listeners and the
// proxy's outgoing connections on one engine, and relays through both
// listeners, half-close included.
func TestProxyOnOneEngine(t *testing.T) {
	eng, err := proactor.NewEngine(proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	backend, err := proactor.NewServer(echo.Handler{}, proactor.WithEngine(eng))
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	baddr, err := backend.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(eng, baddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	front, err := proactor.NewServer(p, append(proxy.Options(), proactor.WithEngine(eng))...)
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	for range 2 {
		addr, err := front.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		msg := bytes.Repeat([]byte("through the proxy "), 100000) // 1.8 MB: backpressure on the way
		go func() {
			c.Write(msg)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("relayed %d of %d bytes, %v", len(got), len(msg), err)
		}
	}
}
