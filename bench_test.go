package proactor_test

import (
	"io"
	"net"
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
)

// BenchmarkEchoRoundTrip measures one 64-byte message there and back over
// loopback, against each proactor engine and, as the baseline, a
// goroutine-per-connection server on Go's net package. The client runs in
// the same process; bench/ has the side-by-side harness with separate
// processes and CPU counters.
func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, engine := range proactor.Engines() {
		b.Run(engine, func(b *testing.B) {
			_, addr := startEcho(b, engine)
			benchRoundTrip(b, addr.String())
		})
	}
	b.Run("netstd", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					buf := make([]byte, 16<<10)
					for {
						n, err := c.Read(buf)
						if err != nil {
							return
						}
						c.Write(buf[:n])
					}
				}()
			}
		}()
		benchRoundTrip(b, ln.Addr().String())
	})
}

// startEcho starts an echo server with one loop on the named engine,
// closed when the test ends.
func startEcho(tb testing.TB, engine string, opts ...proactor.Option) (*proactor.Server, *net.TCPAddr) {
	tb.Helper()
	srv, err := proactor.NewServer(echo.Handler{}, append(opts, proactor.WithEngineName(engine), proactor.WithLoops(1))...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return srv, addr.(*net.TCPAddr)
}

func benchRoundTrip(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.Write(msg)
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}
