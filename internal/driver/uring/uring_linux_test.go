package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// newTestPoller makes a poller or skips the test where io_uring is not
// available: the engine is optional, its absence is not a failure.
func newTestPoller(t *testing.T, o options) *poller {
	t.Helper()
	d, err := New()
	if err != nil {
		if errors.Is(err, driver.ErrUnsupported) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	if !d.(uringDriver).recvLimit && o.recvLimit == 0 {
		o.recvLimit = -1 // as NewPoller does on this kernel
	}
	p, err := newPoller(driver.Config{}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Release() })
	return p
}

// listen makes a listener on the poller and returns its address.
func listen(t *testing.T, p *poller) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := p.Listen(driver.MakeToken(0, 1), ln, driver.SockOptions{NoDelay: true}); err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

// connectPeers dials n peers, accepts and attaches them as slots 0..n-1.
func connectPeers(t *testing.T, p *poller, s *drivertest.Sink, addr string, n int) ([]net.Conn, []driver.Token, []driver.Sock) {
	t.Helper()
	peers := dialN(t, addr, n)
	base := len(s.Accepts)
	drivertest.PollUntil(t, p, s, func() bool { return len(s.Accepts) == base+n })
	var toks []driver.Token
	socks := s.Accepts[base:]
	for i, so := range socks {
		tok := driver.MakeToken(uint32(i), 7)
		if err := p.Attach(tok, so); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	// Accept order need not be dial order: pair them by address.
	ordered := make([]net.Conn, n)
	for i, so := range socks {
		for _, c := range peers {
			if c.LocalAddr().String() == so.Peer.String() {
				ordered[i] = c
			}
		}
		if ordered[i] == nil {
			t.Fatalf("no peer for %v", so.Peer)
		}
	}
	return ordered, toks, socks
}

// dialN dials n connections to addr, closed at the test's end.
func dialN(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

func setup(t *testing.T, o options) (*poller, *drivertest.Sink, driver.Token, net.Conn, driver.Sock) {
	t.Helper()
	p := newTestPoller(t, o)
	s := drivertest.NewSink()
	peers, toks, socks := connectPeers(t, p, s, listen(t, p), 1)
	return p, s, toks[0], peers[0], socks[0]
}

// Every descriptor the engine creates is close-on-exec, and the sockets and
// the eventfd are non-blocking.
func TestDescriptorFlags(t *testing.T) {
	p, _, _, peer, so := setup(t, options{})
	fds := map[string]int{"accepted": so.FD, "ring": p.ring.FD(), "eventfd": p.wakefd, "listener": p.lns[0].fd}
	for name, fd := range fds {
		fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || fdFlags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s fd %d: not close-on-exec (%#x, %v)", name, fd, fdFlags, err)
		}
		if name == "ring" {
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
	nodelay, err := unix.GetsockoptInt(so.FD, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	if err != nil || nodelay == 0 {
		t.Errorf("TCP_NODELAY not set: %d, %v", nodelay, err)
	}
	t.Logf("setup flags %#x, features %#x", p.ring.Params().Flags, p.ring.Params().Features)
}

// A completion for a closed slot is dropped, even when the slot and the
// descriptor number have been reused; a stale token reaches nothing.
func TestStaleCompletions(t *testing.T) {
	p, s, ct, peer, so := setup(t, options{})
	peer.Write([]byte("old"))
	// Close right away: the receive's completions are still to come.
	if err := p.Close(ct, false); err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if fds[0] != so.FD && fds[1] != so.FD {
		t.Logf("descriptor %d not reused (got %v)", so.FD, fds)
	}
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
	unix.Write(fds[1], []byte("new"))
	drivertest.PollUntil(t, p, s, func() bool { return len(s.Reads[fresh]) == 3 })
	if len(s.Reads[ct]) != 0 || string(s.Reads[fresh]) != "new" {
		t.Fatalf("stale token got %q, fresh %q", s.Reads[ct], s.Reads[fresh])
	}
}

// A write the socket cannot take goes pending, is finished through the ring
// in as many sends as it takes, and completes whole.
func TestShortSends(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noWaitAll bool
	}{
		{name: "waitall", noWaitAll: false},
		{name: "short", noWaitAll: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s, ct, peer, so := setup(t, options{noWaitAll: tc.noWaitAll})
			unix.SetsockoptInt(so.FD, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
			n, pending, err := p.Write(ct, [][]byte{[]byte("small")})
			if err != nil || pending || n != 5 {
				t.Fatalf("small write: n %d pending %v err %v", n, pending, err)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			iov := [][]byte{big[:1000], big[1000 : 1<<19], big[1<<19:]}
			n, pending, err = p.Write(ct, iov)
			if err != nil || !pending {
				t.Fatalf("big write: n %d pending %v err %v", n, pending, err)
			}
			if _, _, err := p.Write(ct, iov); !errors.Is(err, errBusy) {
				t.Fatalf("second write while one is in flight: %v", err)
			}
			got := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(io.LimitReader(peer, int64(5+len(big))))
				got <- b
			}()
			drivertest.PollUntil(t, p, s, func() bool { return s.Written[ct] > 0 })
			if s.Written[ct] != len(big) || p.conns.At(0).sending {
				t.Fatalf("completion: %d bytes, sending %v", s.Written[ct], p.conns.At(0).sending)
			}
			if b := <-got; !bytes.Equal(b[5:], big) {
				t.Fatalf("peer got different bytes")
			}
		})
	}
}

// End of stream is reported once and stops reading.
func TestEOF(t *testing.T) {
	p, s, ct, peer, _ := setup(t, options{})
	peer.Write([]byte("bye"))
	peer.(*net.TCPConn).CloseWrite()
	drivertest.PollUntil(t, p, s, func() bool { return s.Ends[ct] != nil })
	if s.Ends[ct] != io.EOF || string(s.Reads[ct]) != "bye" || p.conns.At(0).reading || p.conns.At(0).recvArmed {
		t.Fatalf("eof %v, data %q, reading %v", s.Ends[ct], s.Reads[ct], p.conns.At(0).reading)
	}
}

// With a tiny buffer ring the receives run dry (ENOBUFS), are re-armed, and
// every byte still arrives, in order: with buffers used up whole by each
// receive, and consumed incrementally (receives packed one behind another,
// where the kernel has it).
func TestENOBUFS(t *testing.T) {
	for _, classic := range []bool{true, false} {
		t.Run(bufMode(classic), func(t *testing.T) { testENOBUFS(t, classic) })
	}
}

func bufMode(classic bool) string {
	if classic {
		return "whole"
	}
	return "incremental"
}

func testENOBUFS(t *testing.T, classic bool) {
	p := newTestPoller(t, options{bufCount: 2, bufSize: 64, classic: classic})
	t.Logf("incremental buffers: %v", p.bufs.Incremental())
	s := drivertest.NewSink()
	peers, toks, _ := connectPeers(t, p, s, listen(t, p), 8)
	msgs := make([][]byte, len(peers))
	for i, c := range peers {
		msgs[i] = bytes.Repeat([]byte{byte('a' + i)}, 4096)
		for j := range msgs[i] {
			msgs[i][j] += byte(j % 7)
		}
		if _, err := c.Write(msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	drivertest.PollUntil(t, p, s, func() bool {
		for i, tok := range toks {
			if len(s.Reads[tok]) < len(msgs[i]) {
				return false
			}
		}
		return true
	})
	for i, tok := range toks {
		if !bytes.Equal(s.Reads[tok], msgs[i]) {
			t.Fatalf("conn %d: bytes differ", i)
		}
	}
	if p.enobufs == 0 {
		t.Errorf("the ring never ran dry; the test proves nothing")
	}
}

// With a tiny completion ring the kernel keeps the surplus in its overflow
// list; Poll flushes it and nothing is lost.
func TestCQOverflow(t *testing.T) {
	p := newTestPoller(t, options{sqEntries: 4, cqEntries: 8, bufSize: 16})
	s := drivertest.NewSink()
	peers, toks, _ := connectPeers(t, p, s, listen(t, p), 16)
	msg := bytes.Repeat([]byte("0123456789"), 50)
	for _, c := range peers {
		c.Write(msg)
	}
	drivertest.PollUntil(t, p, s, func() bool {
		for _, tok := range toks {
			if len(s.Reads[tok]) < len(msg) {
				return false
			}
		}
		return true
	})
	for i, tok := range toks {
		if !bytes.Equal(s.Reads[tok], msg) {
			t.Fatalf("conn %d: bytes differ", i)
		}
	}
	if p.overflow == 0 {
		t.Errorf("the completion ring never overflowed; the test proves nothing")
	}
}

// A slot stays small, and the connection that reuses it inherits nothing
// of the last one: no file, no write's buffers. Its extra state, kept
// apart, stays for the next connection.
func TestSlotRelease(t *testing.T) {
	if size := unsafe.Sizeof(connSlot{}); size != 12 {
		t.Errorf("connSlot is %d bytes, want 12", size)
	}
	var p poller
	var c connSlot
	c.fd, c.gen, c.reading = 7, 3, true
	x := p.extra(5, &c)
	x.file, x.foff, x.fleft, x.written = os.Stdin, 5, 6, 7
	x.iov = append(x.iov, []byte("pending"))
	iov := x.iov
	p.release(5, &c)
	if c.fd != -1 || c.reading || !c.has(fExtra) || p.extra(5, &c) != x {
		t.Fatalf("slot after release: %+v", c)
	}
	if x.file != nil || x.foff != 0 || x.fleft != 0 || x.written != 0 {
		t.Fatalf("extra state after release: %+v", *x)
	}
	if len(x.iov) != 0 || cap(x.iov) == 0 || iov[0] != nil {
		t.Fatalf("write vector after release: len %d cap %d, old entry %q", len(x.iov), cap(x.iov), iov[0])
	}
}

// Reading off: the engine reports what the receive brought before its
// cancel took effect (the state machine holds it; the engine holds
// nothing), then nothing until reading is on again, and then the rest, in
// order.
func TestPausedReading(t *testing.T) {
	p, s, ct, peer, _ := setup(t, options{})
	paused := false
	s.OnRead = func(t driver.Token, b []byte) {
		if !paused {
			paused = true
			p.SetReading(t, false)
		}
	}
	msg := bytes.Repeat([]byte("x"), 8<<20) // more than the socket buffers hold: the peer waits
	go peer.Write(msg)
	drivertest.PollUntil(t, p, s, func() bool { return paused })
	// The cancel is submitted by the next Poll, and its receive ends.
	drivertest.PollUntil(t, p, s, func() bool { return !p.conn(ct).recvArmed })
	n := len(s.Reads[ct])
	if n == len(msg) {
		t.Fatal("everything came before the cancel; the test proves nothing")
	}
	for range 5 {
		p.Poll(20*time.Millisecond, s)
	}
	if len(s.Reads[ct]) != n {
		t.Fatalf("%d bytes read while paused", len(s.Reads[ct])-n)
	}
	if err := p.SetReading(ct, true); err != nil {
		t.Fatal(err)
	}
	s.OnRead = nil
	drivertest.PollUntil(t, p, s, func() bool { return len(s.Reads[ct]) == len(msg) })
	if !bytes.Equal(s.Reads[ct], msg) {
		t.Fatal("the bytes differ")
	}
}

// Wake from another goroutine ends a Poll that would wait forever.
func TestWake(t *testing.T) {
	p := newTestPoller(t, options{})
	s := drivertest.NewSink()
	for range 3 {
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(20 * time.Millisecond)
			if err := p.Wake(); err != nil {
				t.Error(err)
			}
		})
		done := make(chan error, 1)
		start := time.Now()
		done <- p.Poll(-1, s)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Poll returned after %v", d)
		}
	}
}

// A signal that interrupts the wait makes Poll return without an error.
func TestEINTR(t *testing.T) {
	p := newTestPoller(t, options{})
	s := drivertest.NewSink()
	p.Poll(0, s) // binds the poller to this thread
	pid, tid := unix.Getpid(), p.tid
	fallback := time.AfterFunc(5*time.Second, func() { p.Wake() })
	defer fallback.Stop()
	go func() {
		time.Sleep(20 * time.Millisecond)
		// SIGURG is the Go runtime's own preemption signal: harmless.
		unix.Tgkill(pid, tid, unix.SIGURG)
	}()
	start := time.Now()
	if err := p.Poll(-1, s); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the signal did not end the wait (%v)", d)
	}
}

// A reset while the connection neither reads nor writes is reported as a
// hang-up.
func TestHangupWhileIdle(t *testing.T) {
	p, s, ct, peer, _ := setup(t, options{})
	if err := p.SetReading(ct, false); err != nil {
		t.Fatal(err)
	}
	p.Poll(0, s)
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close()
	drivertest.PollUntil(t, p, s, func() bool { _, ok := s.Hangups[ct]; return ok })
	if err := s.Hangups[ct]; !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("hang-up error %v; want ECONNRESET", err)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// Release with connections, a listener, a pending write and an accept in
// flight leaves no descriptor behind.
func TestTeardown(t *testing.T) {
	if _, err := New(); err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	before := openFDs(t)
	func() {
		p, err := newPoller(driver.Config{}, options{})
		if err != nil {
			t.Fatal(err)
		}
		s := drivertest.NewSink()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if err := p.Listen(driver.MakeToken(0, 1), ln, driver.SockOptions{NoDelay: true}); err != nil {
			t.Fatal(err)
		}
		peers, toks, socks := connectPeers(t, p, s, ln.Addr().String(), 4)
		unix.SetsockoptInt(socks[0].FD, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
		if _, pending, err := p.Write(toks[0], [][]byte{make([]byte, 4<<20)}); err != nil || !pending {
			t.Fatalf("write: pending %v, %v", pending, err)
		}
		p.Poll(0, s)
		if err := p.Release(); err != nil {
			t.Fatal(err)
		}
		for _, c := range peers {
			c.Close()
		}
	}()
	if after := openFDs(t); after > before {
		t.Fatalf("descriptors: %d before, %d after", before, after)
	}
}

// With incremental buffers, small receives from several connections share
// a buffer, each behind the last; every connection still gets its bytes, in
// order, though the ring holds far fewer buffers than there are receives.
func TestIncrementalPacking(t *testing.T) {
	p := newTestPoller(t, options{bufCount: 2, bufSize: 4096})
	if !p.bufs.Incremental() {
		t.Log("this kernel consumes buffers whole; the test runs on whole buffers")
	}
	s := drivertest.NewSink()
	peers, toks, _ := connectPeers(t, p, s, listen(t, p), 8)
	want := make([][]byte, len(peers))
	for round := range 40 {
		for i, c := range peers {
			msg := []byte(fmt.Sprintf("conn %d message %02d;", i, round))
			want[i] = append(want[i], msg...)
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
		}
		if round%8 == 7 {
			drivertest.PollUntil(t, p, s, func() bool {
				for i, tok := range toks {
					if len(s.Reads[tok]) < len(want[i]) {
						return false
					}
				}
				return true
			})
		}
	}
	for i, tok := range toks {
		if !bytes.Equal(s.Reads[tok], want[i]) {
			t.Fatalf("conn %d: got %q, want %q", i, s.Reads[tok], want[i])
		}
	}
}

// TestRearmFailure: a receive that cannot be re-armed (no submission entry
// to be had) ends the connection with that error; before, the error was
// dropped and the connection waited for input never to be reported.
func TestRearmFailure(t *testing.T) {
	const size = 4 << 10
	p := newTestPoller(t, options{bufCount: 16, bufSize: size, recvLimit: size})
	if p.recvLimit == 0 {
		t.Skip("this kernel has no byte limit for a multishot receive (IORING_RECV_MSHOT_LIM): nothing ends a receive here")
	}
	s := drivertest.NewSink()
	peers, toks, _ := connectPeers(t, p, s, listen(t, p), 1)
	fault := errors.New("test: no submission entry")
	p.sqeFault = fault // the receive Attach armed is submitted by the next Poll
	if _, err := peers[0].Write(make([]byte, 2*size)); err != nil {
		t.Fatal(err)
	}
	drivertest.PollUntil(t, p, s, func() bool { return s.Ends[toks[0]] != nil })
	if !errors.Is(s.Ends[toks[0]], fault) || len(s.Reads[toks[0]]) != size {
		t.Fatalf("end %v after %d bytes; want the fault after %d (the receive's limit)", s.Ends[toks[0]], len(s.Reads[toks[0]]), size)
	}
	p.sqeFault = nil
}
