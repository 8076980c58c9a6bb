//go:build linux

package proactor_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor"
)

// BenchmarkIdleConn opens b.N connections to an echo server, round-trips
// 8 bytes on each and keeps them open, then reports what the server holds
// per connection: live heap after a GC (live-B/conn), and everything it
// allocated to get there (alloc-B/conn, allocs/conn) — garbage made while
// accepting is what GC headroom turns into RSS — and the growth of the
// process's RSS (rss-B/conn). The clients are raw sockets, so the process's
// heap is the server's. Run with a fixed count, e.g. -benchtime=8000x (each
// connection takes two descriptors); bench/ measures RSS in a separate
// process.
func BenchmarkIdleConn(b *testing.B) {
	for _, engine := range proactor.Engines() {
		if engine == "std" {
			continue // a goroutine and a buffer per connection: not comparable
		}
		b.Run(engine, func(b *testing.B) {
			var lim unix.Rlimit
			if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil && uint64(2*b.N+100) > lim.Cur {
				b.Fatalf("%d connections need %d descriptors (client and server side); RLIMIT_NOFILE is %d", b.N, 2*b.N, lim.Cur)
			}
			srv, addr := startEcho(b, engine)
			ap := addr.AddrPort()
			sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
			fds := make([]int, 0, b.N)
			defer func() {
				for _, fd := range fds {
					unix.Close(fd)
				}
			}()
			msg, buf := []byte("8 bytes!"), make([]byte, 8)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rss0 := rss(b)
			b.ResetTimer()
			for range b.N {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					b.Fatal(err)
				}
				fds = append(fds, fd)
				if err := unix.Connect(fd, sa); err != nil {
					b.Fatal(err)
				}
				if _, err := unix.Write(fd, msg); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < len(buf); {
					n, err := unix.Read(fd, buf[got:])
					if err != nil || n == 0 {
						b.Fatal("read:", n, err)
					}
					got += n
				}
			}
			b.StopTimer()
			rss1 := rss(b)
			runtime.ReadMemStats(&after) // before the GC: what was allocated
			alloc := after.TotalAlloc - before.TotalAlloc
			mallocs := after.Mallocs - before.Mallocs
			runtime.GC()
			runtime.ReadMemStats(&after)
			n := float64(b.N)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "live-B/conn")
			b.ReportMetric(float64(alloc)/n, "alloc-B/conn")
			b.ReportMetric(float64(mallocs)/n, "allocs/conn")
			b.ReportMetric(float64(rss1-rss0)/n, "rss-B/conn")
			if got := srv.Stats().Active; got != b.N {
				b.Fatalf("%d connections open; want %d", got, b.N)
			}
		})
	}
}

// rss returns the process's resident set size in bytes.
func rss(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatal(err)
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		tb.Fatal(err)
	}
	return res * int64(os.Getpagesize())
}
