package proactor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor"
)

// blackhole returns the address of a listener whose accept queue is full
// (backlog 0, one connection queued and never accepted): the kernel drops
// further SYNs, so a connect there hangs until its timeout.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	filler, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return addr
}

// TestDialTimeout: the connect timeout and a context both end a connect
// that the peer never completes.
func TestDialTimeout(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := blackhole(t)
			cl, err := proactor.NewClient(proactor.BaseHandler{}, proactor.WithEngineName(engine),
				proactor.WithConnectTimeout(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			start := time.Now()
			_, err = cl.Dial(context.Background(), "tcp", addr)
			var te *proactor.TimeoutError
			if !errors.Is(err, proactor.ErrTimeout) || !errors.As(err, &te) || te.Kind != proactor.ConnectTimeout {
				t.Fatalf("Dial: %v; want a connect timeout", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the 100ms connect timeout took %v", d)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := cl.Dial(ctx, "tcp", addr); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial with a context deadline: %v", err)
			}
			if st := cl.Stats(); st.ConnectTimeouts != 1 || st.Active != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
