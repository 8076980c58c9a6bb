package proactor_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// udpEcho echoes each datagram to its sender and records what it was told.
type udpEcho struct {
	mu      sync.Mutex
	errs    []error
	n       atomic.Int64
	onPkt   func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool // true: handled
	errSeen chan struct{}
}

func newUDPEcho() *udpEcho { return &udpEcho{errSeen: make(chan struct{}, 16)} }

func (h *udpEcho) OnPacket(pc *proactor.PacketConn, data []byte, from netip.AddrPort) {
	h.n.Add(1)
	if h.onPkt != nil && h.onPkt(pc, data, from) {
		return
	}
	if err := pc.WriteTo(data, from); err != nil {
		panic(err)
	}
}

func (h *udpEcho) OnPacketError(pc *proactor.PacketConn, from netip.AddrPort, err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	select {
	case h.errSeen <- struct{}{}:
	default:
	}
}

func (h *udpEcho) errors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

func startUDP(t *testing.T, engine string, h proactor.PacketHandler, opts ...proactor.Option) (*proactor.PacketServer, *proactor.PacketConn, netip.AddrPort) {
	t.Helper()
	opts = append([]proactor.Option{proactor.WithEngineName(engine), proactor.WithLoops(2)}, opts...)
	srv, err := proactor.NewPacketServer(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	pc, err := srv.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, pc, pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func udpClient(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recvUDP reads one datagram, failing the test after a few seconds.
func recvUDP(t *testing.T, c *net.UDPConn, buf []byte) ([]byte, netip.AddrPort) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], from
}

// statsSettle returns the server's stats once ok holds of them, or after
// five seconds: a reply can reach the client before the loop that sent it
// has counted it.
func statsSettle(srv *proactor.PacketServer, ok func(proactor.PacketStats) bool) proactor.PacketStats {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := srv.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPacket runs the datagram cases on every engine this machine has.
func TestPacket(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, engine string)
	}{
		{"Echo", testPacketEcho},
		{"ManySenders", testPacketManySenders},
		{"Burst", testPacketBurst},
		{"Oversize", testPacketOversize},
		{"Empty", testPacketEmpty},
		{"ReplyAddress", testPacketReplyAddress},
		{"WriteFromGoroutine", testPacketWriteFromGoroutine},
		{"SendError", testPacketSendError},
		{"Panic", testPacketPanic},
		{"CloseWhileReceiving", testPacketCloseWhileReceiving},
		{"EngineClose", testPacketEngineClose},
		{"QueueFull", testPacketQueueFull},
	}
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, engine) })
			}
		})
	}
}

func testPacketEcho(t *testing.T, engine string) {
	srv, _, addr := startUDP(t, engine, newUDPEcho())
	c := udpClient(t)
	buf := make([]byte, 2048)
	for i := range 10 {
		msg := fmt.Appendf(nil, "hello %d", i)
		if _, err := c.WriteToUDPAddrPort(msg, addr); err != nil {
			t.Fatal(err)
		}
		got, from := recvUDP(t, c, buf)
		if !bytes.Equal(got, msg) || from != addr {
			t.Fatalf("got %q from %v, want %q from %v", got, from, msg, addr)
		}
	}
	st := statsSettle(srv, func(st proactor.PacketStats) bool { return st.Sent == 10 })
	if st.Received != 10 || st.Sent != 10 || st.BytesReceived != st.BytesSent || st.Sockets != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Each sender waits for its echo before the next, so that nothing is lost
// to a full socket buffer, and the senders run at once.
func testPacketManySenders(t *testing.T, engine string) {
	srv, _, addr := startUDP(t, engine, newUDPEcho())
	const senders, each = 8, 50
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for s := range senders {
		c := udpClient(t)
		wg.Go(func() {
			buf := make([]byte, 64)
			for i := range each {
				msg := fmt.Appendf(nil, "%d/%d", s, i)
				c.WriteToUDPAddrPort(msg, addr)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					errc <- fmt.Errorf("sender %d: got %q, %v; want %q", s, buf[:n], err, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if st := statsSettle(srv, func(st proactor.PacketStats) bool { return st.Sent == senders*each }); st.Received != senders*each || st.Sent != senders*each {
		t.Fatalf("stats %+v", st)
	}
}

// A burst of more datagrams than one batch (and than uring's ring of
// buffers) before the client reads any reply.
func testPacketBurst(t *testing.T, engine string) {
	srv, _, addr := startUDP(t, engine, newUDPEcho())
	c := udpClient(t)
	const n = 100
	for i := range n {
		if _, err := c.WriteToUDPAddrPort(fmt.Appendf(nil, "%03d", i), addr); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]bool)
	buf := make([]byte, 64)
	for range n {
		got, _ := recvUDP(t, c, buf)
		seen[string(got)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct replies, want %d", len(seen), n)
	}
	if st := statsSettle(srv, func(st proactor.PacketStats) bool { return st.Sent == n }); st.Received != n || st.Sent != n || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func testPacketOversize(t *testing.T, engine string) {
	h := newUDPEcho()
	srv, _, addr := startUDP(t, engine, h, proactor.WithPacketSize(512))
	c := udpClient(t)
	// Exactly the size is whole; one byte more is not.
	c.WriteToUDPAddrPort(make([]byte, 512), addr)
	if got, _ := recvUDP(t, c, make([]byte, 2048)); len(got) != 512 {
		t.Fatalf("got %d bytes, want 512", len(got))
	}
	c.WriteToUDPAddrPort(make([]byte, 513), addr)
	select {
	case <-h.errSeen:
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported for an oversize datagram")
	}
	var te *proactor.TruncatedError
	if errs := h.errors(); len(errs) != 1 || !errors.As(errs[0], &te) || !errors.Is(errs[0], proactor.ErrTruncated) {
		t.Fatalf("errors %v, want one *TruncatedError", errs)
	}
	if te.Limit != 512 || te.Size <= 512 || engine != "std" && te.Size != 513 {
		t.Fatalf("TruncatedError %+v", te)
	}
	// The socket goes on, and the oversize datagram never reached OnPacket.
	c.WriteToUDPAddrPort([]byte("after"), addr)
	if got, _ := recvUDP(t, c, make([]byte, 2048)); string(got) != "after" {
		t.Fatalf("got %q", got)
	}
	if st := srv.Stats(); st.Truncated != 1 || st.Received != 2 || h.n.Load() != 2 {
		t.Fatalf("stats %+v, OnPacket %d times", st, h.n.Load())
	}
}

func testPacketEmpty(t *testing.T, engine string) {
	var sizes []int
	var mu sync.Mutex
	h := newUDPEcho()
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		mu.Lock()
		sizes = append(sizes, len(data))
		mu.Unlock()
		return false
	}
	_, _, addr := startUDP(t, engine, h)
	c := udpClient(t)
	c.WriteToUDPAddrPort(nil, addr)
	if got, _ := recvUDP(t, c, make([]byte, 64)); len(got) != 0 {
		t.Fatalf("got %q, want an empty datagram", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 1 || sizes[0] != 0 {
		t.Fatalf("OnPacket sizes %v", sizes)
	}
}

// Replies go to each datagram's own sender, including a reply written to
// another address than the sender's.
func testPacketReplyAddress(t *testing.T, engine string) {
	a, b := udpClient(t), udpClient(t)
	bAddr := b.LocalAddr().(*net.UDPAddr).AddrPort()
	h := newUDPEcho()
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		if string(data) == "forward" {
			pc.WriteTo([]byte("from a"), bAddr)
			return true
		}
		return false
	}
	_, _, addr := startUDP(t, engine, h)
	buf := make([]byte, 64)
	a.WriteToUDPAddrPort([]byte("to a"), addr)
	b.WriteToUDPAddrPort([]byte("to b"), addr)
	if got, _ := recvUDP(t, a, buf); string(got) != "to a" {
		t.Fatalf("a got %q", got)
	}
	if got, _ := recvUDP(t, b, buf); string(got) != "to b" {
		t.Fatalf("b got %q", got)
	}
	a.WriteToUDPAddrPort([]byte("forward"), addr)
	if got, _ := recvUDP(t, b, buf); string(got) != "from a" {
		t.Fatalf("b got %q", got)
	}
}

// WriteTo from a goroutine: the datagram leaves without another datagram
// arriving to flush it.
func testPacketWriteFromGoroutine(t *testing.T, engine string) {
	h := newUDPEcho()
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		msg := bytes.Clone(data)
		wg.Go(func() {
			time.Sleep(10 * time.Millisecond) // after the batch is over
			pc.WriteTo(append(msg, " later"...), from)
		})
		return true
	}
	_, _, addr := startUDP(t, engine, h)
	c := udpClient(t)
	c.WriteToUDPAddrPort([]byte("x"), addr)
	if got, _ := recvUDP(t, c, make([]byte, 64)); string(got) != "x later" {
		t.Fatalf("got %q", got)
	}
}

// A datagram the kernel refuses (an IPv6 destination on an IPv4 socket)
// is reported and counted; the socket goes on.
func testPacketSendError(t *testing.T, engine string) {
	h := newUDPEcho()
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		if string(data) == "bad" {
			pc.WriteTo([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:9"))
		}
		return false
	}
	srv, _, addr := startUDP(t, engine, h)
	c := udpClient(t)
	c.WriteToUDPAddrPort([]byte("bad"), addr)
	select {
	case <-h.errSeen:
	case <-time.After(5 * time.Second):
		t.Fatal("no error reported for a refused datagram")
	}
	if got, _ := recvUDP(t, c, make([]byte, 64)); string(got) != "bad" {
		t.Fatalf("got %q", got)
	}
	if st := statsSettle(srv, func(st proactor.PacketStats) bool { return st.Sent == 1 }); st.SendErrors != 1 || st.Sent != 1 {
		t.Fatalf("stats %+v, errors %v", st, h.errors())
	}
}

func testPacketPanic(t *testing.T, engine string) {
	h := newUDPEcho()
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		if string(data) == "boom" {
			panic("boom")
		}
		return false
	}
	srv, _, addr := startUDP(t, engine, h, proactor.WithLogger(slog.New(slog.DiscardHandler)))
	c := udpClient(t)
	c.WriteToUDPAddrPort([]byte("boom"), addr)
	c.WriteToUDPAddrPort([]byte("fine"), addr)
	if got, _ := recvUDP(t, c, make([]byte, 64)); string(got) != "fine" {
		t.Fatalf("got %q", got)
	}
	if st := srv.Stats(); st.Panics != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Close while a sender floods the socket: Done comes, no OnPacket starts
// after it, and the socket is gone.
func testPacketCloseWhileReceiving(t *testing.T, engine string) {
	h := newUDPEcho()
	srv, pc, addr := startUDP(t, engine, h)
	c := udpClient(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				c.WriteToUDPAddrPort([]byte("flood"), addr)
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	deadline := time.Now().Add(5 * time.Second)
	for h.n.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not finish")
	}
	after := h.n.Load()
	time.Sleep(20 * time.Millisecond)
	if h.n.Load() != after {
		t.Fatalf("OnPacket ran after Done: %d then %d", after, h.n.Load())
	}
	if err := pc.WriteTo([]byte("x"), addr); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
	if st := srv.Stats(); st.Sockets != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The port is free again: nothing holds the socket.
	again, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("the port is still held: %v", err)
	}
	again.Close()
}

// Closing a shared engine closes the datagram sockets on it: Done comes,
// and the server forgets them.
func testPacketEngineClose(t *testing.T, engine string) {
	e, err := proactor.NewEngine(proactor.WithEngineName(engine), proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := proactor.NewPacketServer(newUDPEcho(), proactor.WithEngine(e))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := srv.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := udpClient(t)
	c.WriteToUDPAddrPort([]byte("x"), pc.LocalAddr().(*net.UDPAddr).AddrPort())
	recvUDP(t, c, make([]byte, 64))
	e.Close()
	select {
	case <-pc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the socket outlived its engine")
	}
	if st := srv.Stats(); st.Sockets != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := srv.ListenPacket("udp", "127.0.0.1:0"); !errors.Is(err, proactor.ErrEngineClosed) {
		t.Fatalf("ListenPacket on a closed engine: %v", err)
	}
	srv.Close()
}

// A callback that writes more than the queue holds before it can be
// flushed gets ErrQueueFull for the excess, which is counted as dropped;
// the next batch has room again.
func testPacketQueueFull(t *testing.T, engine string) {
	sink := udpClient(t) // never read: the flood lands in its buffer
	to := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	h := newUDPEcho()
	var refused atomic.Int64
	h.onPkt = func(pc *proactor.PacketConn, data []byte, from netip.AddrPort) bool {
		if string(data) != "fill" {
			return false
		}
		for range 4096 {
			if err := pc.WriteTo([]byte("x"), to); err != nil {
				panic(err)
			}
		}
		if err := pc.WriteTo(data, from); errors.Is(err, proactor.ErrQueueFull) {
			refused.Add(1)
		}
		return true
	}
	srv, _, addr := startUDP(t, engine, h)
	c := udpClient(t)
	c.WriteToUDPAddrPort([]byte("fill"), addr)
	statsSettle(srv, func(st proactor.PacketStats) bool { return st.Sent+st.Dropped >= 4097 })
	c.WriteToUDPAddrPort([]byte("after"), addr)
	if got, _ := recvUDP(t, c, make([]byte, 64)); string(got) != "after" {
		t.Fatalf("got %q, want the echo of the datagram after the flood", got)
	}
	if refused.Load() != 1 {
		t.Fatalf("%d writes refused, want 1", refused.Load())
	}
	if st := srv.Stats(); st.Dropped < 1 {
		t.Fatalf("stats %+v", st)
	}
}
