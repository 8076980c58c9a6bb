package epoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

func setup(t *testing.T) (*poller, *drivertest.Sink, driver.Token, net.Conn, driver.Sock) {
	t.Helper()
	d, _ := New()
	pp, err := d.NewPoller(driver.Config{ReadBufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	p := pp.(*poller)
	t.Cleanup(func() { p.Release() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lt := driver.MakeToken(0, 1)
	if err := p.Listen(lt, ln, driver.SockOptions{NoDelay: true}); err != nil {
		t.Fatal(err)
	}
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	s := drivertest.NewSink()
	drivertest.PollUntil(t, p, s, func() bool { return len(s.Accepts) == 1 })
	so := s.Accepts[0]
	ct := driver.MakeToken(0, 7)
	if err := p.Attach(ct, so); err != nil {
		t.Fatal(err)
	}
	return p, s, ct, peer, so
}

// Every descriptor the engine creates is non-blocking and close-on-exec.
func TestDescriptorFlags(t *testing.T) {
	p, _, _, peer, so := setup(t)
	for name, fd := range map[string]int{"accepted": so.FD, "epoll": p.epfd, "eventfd": p.wakefd, "listener": p.lns[0].fd} {
		fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || fdFlags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s fd %d: not close-on-exec (%#x, %v)", name, fd, fdFlags, err)
		}
		if name == "epoll" {
			continue
		}
		flFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil || flFlags&unix.O_NONBLOCK == 0 {
			t.Errorf("%s fd %d: blocking (%#x, %v)", name, fd, flFlags, err)
		}
	}
	if so.Peer.String() != peer.LocalAddr().String() || so.Local.String() != peer.RemoteAddr().String() {
		t.Errorf("addresses: peer %v local %v; want %v and %v", so.Peer, so.Local, peer.LocalAddr(), peer.RemoteAddr())
	}
}

// A token whose generation is stale reaches nothing, even on a reused slot.
func TestStaleToken(t *testing.T) {
	p, s, ct, peer, _ := setup(t)
	if err := p.Close(ct, false); err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	fresh := driver.MakeToken(ct.Slot(), ct.Gen()+1)
	if err := p.Attach(fresh, driver.Sock{FD: fds[0]}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Write(ct, [][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write on a stale token: %v", err)
	}
	if err := p.SetReading(ct, false); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SetReading on a stale token: %v", err)
	}
	peer.Write([]byte("to the old connection"))
	unix.Write(fds[1], []byte("new"))
	drivertest.PollUntil(t, p, s, func() bool { return len(s.Reads[fresh]) == 3 })
	if len(s.Reads[ct]) != 0 {
		t.Fatalf("stale token got %q", s.Reads[ct])
	}
}

// EPOLLOUT is armed only while a write is pending, and a pending write
// completes whole.
func TestPendingWrite(t *testing.T) {
	p, s, ct, peer, so := setup(t)
	unix.SetsockoptInt(so.FD, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	n, pending, err := p.Write(ct, [][]byte{[]byte("small")})
	if err != nil || pending || n != 5 || p.conns.At(0).interest&unix.EPOLLOUT != 0 {
		t.Fatalf("small write: n %d pending %v err %v interest %#x", n, pending, err, p.conns.At(0).interest)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than the socket takes
	iov := [][]byte{big[:1000], big[1000 : 1<<19], big[1<<19:]}
	n, pending, err = p.Write(ct, iov)
	if err != nil || !pending || p.conns.At(0).interest&unix.EPOLLOUT == 0 {
		t.Fatalf("big write: n %d pending %v err %v interest %#x", n, pending, err, p.conns.At(0).interest)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(5+len(big))))
		got <- b
	}()
	drivertest.PollUntil(t, p, s, func() bool { return s.Written[ct] > 0 })
	if s.Written[ct] != len(big) || p.conns.At(0).interest&unix.EPOLLOUT != 0 {
		t.Fatalf("completion: %d bytes, interest %#x", s.Written[ct], p.conns.At(0).interest)
	}
	if b := <-got; !bytes.Equal(b[5:], big) {
		t.Fatalf("peer got different bytes")
	}
}

// End of stream is reported once and stops reading.
func TestEOF(t *testing.T) {
	p, s, ct, peer, _ := setup(t)
	peer.Write([]byte("bye"))
	peer.(*net.TCPConn).CloseWrite()
	drivertest.PollUntil(t, p, s, func() bool { return s.Ends[ct] != nil })
	if s.Ends[ct] != io.EOF || string(s.Reads[ct]) != "bye" || p.conns.At(0).interest&unix.EPOLLIN != 0 {
		t.Fatalf("eof %v, data %q, interest %#x", s.Ends[ct], s.Reads[ct], p.conns.At(0).interest)
	}
}

// A slot stays small, and the connection that reuses it inherits nothing
// of the last one's pending write. Its pending-write state, kept apart,
// stays for the next connection.
func TestSlotRelease(t *testing.T) {
	if size := unsafe.Sizeof(connSlot{}); size != 16 {
		t.Errorf("connSlot is %d bytes, want 16", size)
	}
	var p poller
	c := connSlot{fd: 7, gen: 3, interest: evWrite}
	w := p.pending(5, &c)
	w.iov, w.written = append(w.iov, []byte("pending")), 4
	iov := w.iov
	p.release(5, &c)
	if c.fd != -1 || c.interest != 0 || c.gen != 3 || !c.pw || p.pending(5, &c) != w {
		t.Fatalf("slot after release: %+v", c)
	}
	if len(w.iov) != 0 || cap(w.iov) == 0 || iov[0] != nil || w.written != 0 {
		t.Fatalf("pending write after release: len %d cap %d, old entry %q, written %d", len(w.iov), cap(w.iov), iov[0], w.written)
	}
}

// A Poll that would sleep waits first in the kernel (kernelWait), then in
// Go's poller: either way a wake-up, input, or the timeout ends it, with
// epoll_pwait2 and without (a kernel before 5.11).
func TestWaitKernel(t *testing.T) {
	for _, pwait2 := range []bool{true, false} {
		p, s, ct, peer, _ := setup(t)
		was := noPwait2.Load()
		noPwait2.Store(!pwait2)
		if err := p.Wake(); err != nil {
			t.Fatal(err)
		}
		if err := p.Poll(-1, s); err != nil { // the wake-up ends it
			t.Fatalf("pwait2 %v: %v", pwait2, err)
		}
		if err := p.Poll(kernelWait/2, s); err != nil || p.nready != 0 { // a timeout within the kernel wait
			t.Fatalf("pwait2 %v: %v, %d events", pwait2, err, p.nready)
		}
		if err := p.Poll(2*kernelWait, s); err != nil || p.nready != 0 { // a timeout past it, in Go's poller
			t.Fatalf("pwait2 %v: %v, %d events", pwait2, err, p.nready)
		}
		peer.Write([]byte("ping"))
		for len(s.Reads[ct]) < 4 {
			if err := p.Poll(-1, s); err != nil {
				t.Fatalf("pwait2 %v: %v", pwait2, err)
			}
		}
		if string(s.Reads[ct]) != "ping" {
			t.Fatalf("pwait2 %v: read %q", pwait2, s.Reads[ct])
		}
		noPwait2.Store(was)
	}
}
