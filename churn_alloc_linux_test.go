//go:build !race

package proactor_test

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"

	"github.com/seed487d475b/proactor"
)

// churnHandler reports each OnOpen and OnClose on a channel, which costs
// no allocation.
type churnHandler struct {
	proactor.BaseHandler
	opened, closed chan struct{}
}

func (h churnHandler) OnOpen(*proactor.Conn)         { h.opened <- struct{}{} }
func (h churnHandler) OnClose(*proactor.Conn, error) { h.closed <- struct{}{} }

// rawConnect connects a new socket to addr with system calls that allocate
// nothing (net.Dial allocates dozens of objects), so that AllocsPerRun
// counts the server's side of a connection.
func rawConnect(t *testing.T, addr netip.AddrPort) int {
	fd, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if e != 0 {
		t.Fatal(e)
	}
	sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: addr.Addr().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(addr.Port()>>8), byte(addr.Port())
	if _, _, e := syscall.Syscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa)); e != 0 {
		t.Fatal(e)
	}
	return int(fd)
}

// TestChurnAllocs asserts that, once warm, a connection's whole life on
// the server (accept, OnOpen, the peer's FIN, close, OnClose) allocates one
// object, the Conn, and none with WithConnPool. Everything else per
// connection is reused: the loop's slot (connRef) and the engine's
// (descriptor, generation), the registry's sets, the timer entry inside
// the Conn, the write-queue chunks and the buffers. Without the pool the
// Conn itself is deliberately not: a *Conn is the handle user code holds,
// and one reused after OnClose would let a stale reference (a worker
// finishing late, a map not yet cleaned) write to or close a stranger's
// connection; a fresh Conn makes such a call fail with ErrClosed instead.
// WithConnPool trades that for zero allocations, under Hold's rule. Only
// the Linux engines are asserted: std runs a goroutine per connection. Run
// without -race, which allocates on its own.
func TestChurnAllocs(t *testing.T) {
	for _, engine := range []string{"epoll", "uring"} {
		for _, pool := range []int{0, 4} {
			t.Run(fmt.Sprintf("%s/pool=%d", engine, pool), func(t *testing.T) {
				want := 1.0 // the Conn
				if pool > 0 {
					want = 0
				}
				h := churnHandler{opened: make(chan struct{}, 1), closed: make(chan struct{}, 1)}
				srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(1),
					proactor.WithLinger(-1), proactor.WithConnPool(pool))
				if err != nil {
					t.Skip(err)
				}
				defer srv.Close()
				a, err := srv.Listen("127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := a.(interface{ AddrPort() netip.AddrPort }).AddrPort()
				churn := func() {
					fd := rawConnect(t, addr)
					<-h.opened
					syscall.Close(fd)
					<-h.closed
				}
				for range 500 {
					churn()
				}
				if n := testing.AllocsPerRun(2000, churn); n > want {
					t.Fatalf("%.2f allocations per connection; want %v", n, want)
				}
			})
		}
	}
}
