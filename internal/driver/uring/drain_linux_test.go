package uring

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// These tests share one listening socket between two pollers, as the old
// and the new process of an upgrade do: a's accepts wait on the socket
// first, b's behind them. The kernel wakes one waiting accept per
// connection, the first in line; the connections are dialled while a does
// not Poll, so that a's ring holds the wakes (deferred task work) until
// its cancel has been submitted, and the cancel wins.

var lnTok = driver.MakeToken(0, 1)

// shared makes the two pollers with a's accepts (o) waiting before b's
// multishot one, and returns the listening socket's address.
func shared(t *testing.T, o driver.SockOptions) (a, b *poller, sa, sb *drivertest.Sink, addr string) {
	t.Helper()
	a, b = newTestPoller(t, options{}), newTestPoller(t, options{})
	sa, sb = drivertest.NewSink(), drivertest.NewSink()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := a.Listen(lnTok, ln, o); err != nil {
		t.Fatal(err)
	}
	if err := a.Poll(0, sa); err != nil { // submitted: a's accepts wait first
		t.Fatal(err)
	}
	if err := b.Listen(lnTok, ln, driver.SockOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Poll(0, sb); err != nil {
		t.Fatal(err)
	}
	return a, b, sa, sb, ln.Addr().String()
}

// dialQueued dials n connections and waits until the kernel has queued
// them all on the listening socket (lfd).
func dialQueued(t *testing.T, addr string, lfd, n int) []net.Conn {
	t.Helper()
	want := queueLen(t, lfd) + n
	cs := dialN(t, addr, n)
	// The handshake's last ACK is processed after Dial returns (loopback's
	// softirq): wait for the children to reach the accept queue.
	deadline := time.Now().Add(10 * time.Second)
	for queueLen(t, lfd) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections queued, want %d", queueLen(t, lfd), want)
		}
		time.Sleep(time.Millisecond)
	}
	return cs
}

func queueLen(t *testing.T, lfd int) int {
	t.Helper()
	n, err := listenQueue(lfd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stopped polls a until the accepts SetAccepting(false) cancelled have
// completed and the drain has run.
func stopped(t *testing.T, a *poller, sa *drivertest.Sink) {
	t.Helper()
	drivertest.PollUntil(t, a, sa, func() bool { l := &a.lns[0]; return l.posted == 0 && !l.drain })
}

// A multishot accept's wait stays on the socket after its first wake and
// takes every later one until its task work runs: the cancel swallows all
// of them, and b hears of none. a's drain must accept them all (the queue
// it left behind), not one per cancelled accept.
func TestDrainMultishot(t *testing.T) {
	a, b, sa, sb, addr := shared(t, driver.SockOptions{})
	lfd := a.lns[0].fd
	dialQueued(t, addr, lfd, 3)
	if err := a.SetAccepting(lnTok, false); err != nil {
		t.Fatal(err)
	}
	stopped(t, a, sa)
	if err := b.Poll(50*time.Millisecond, sb); err != nil {
		t.Fatal(err)
	}
	if len(sa.Accepts)+len(sb.Accepts) != 3 || queueLen(t, lfd) != 0 {
		t.Fatalf("a accepted %d, b %d, %d left in the queue; want all 3 accepted", len(sa.Accepts), len(sb.Accepts), queueLen(t, lfd))
	}
	t.Logf("a accepted %d, b %d", len(sa.Accepts), len(sb.Accepts))
}

// Single-shot accepts each leave the socket's wait at the one wake they
// take: of five connections, a's two accepts swallow two wakes and b is
// woken for the other three. a drains two, no more: the rest are b's.
func TestDrainSingleShotBound(t *testing.T) {
	a, b, sa, sb, addr := shared(t, driver.SockOptions{AcceptBatch: 2})
	lfd := a.lns[0].fd
	dialQueued(t, addr, lfd, 5)
	if err := a.SetAccepting(lnTok, false); err != nil {
		t.Fatal(err)
	}
	stopped(t, a, sa)
	drivertest.PollUntil(t, b, sb, func() bool { return len(sa.Accepts)+len(sb.Accepts) >= 5 })
	if len(sa.Accepts) != 2 || len(sb.Accepts) != 3 {
		t.Fatalf("a accepted %d, b %d; want 2 and 3", len(sa.Accepts), len(sb.Accepts))
	}
	for _, so := range append(sa.Accepts, sb.Accepts...) {
		unix.Close(so.FD)
	}
}

// tokSink records which listener each accepted socket came from.
type tokSink struct {
	*drivertest.Sink
	from []driver.Token
}

func (s *tokSink) Accepted(t driver.Token, so driver.Sock) {
	s.from = append(s.from, t)
	s.Sink.Accepted(t, so)
}

// ended checks that each client gets an orderly end of stream: a FIN, not
// a reset, and not silence.
func ended(t *testing.T, cs []net.Conn) {
	t.Helper()
	for i, c := range cs {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("client %d: read %d, %v; want EOF", i, n, err)
		}
	}
}

// Unlisten (Shutdown, Close) cancels the accepts and keeps the socket open
// until they have completed, then drains what they may have swallowed
// wakes of: the clients get an orderly close, none waits for a wake that
// never comes. The slot is free at once: a new listener in it (a new
// generation) gets none of the old one's completions.
func TestUnlistenDrains(t *testing.T) {
	a, b, sa0, sb, addr := shared(t, driver.SockOptions{})
	lfd := a.lns[0].fd
	cs := dialQueued(t, addr, lfd, 3)
	// The clients have written: closed unread, their sockets would reset.
	for _, c := range cs {
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Unlisten(lnTok); err != nil {
		t.Fatal(err)
	}
	if len(a.closing) != 1 {
		t.Fatalf("%d listeners closing, want 1", len(a.closing))
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	tok2 := driver.MakeToken(lnTok.Slot(), lnTok.Gen()+1)
	if err := a.Listen(tok2, ln2, driver.SockOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := &tokSink{Sink: sa0}
	drivertest.PollUntil(t, a, sa, func() bool { return len(a.closing) == 0 })
	if n := queueLen(t, b.lns[0].fd); n != 0 { // a's descriptor is closed
		t.Fatalf("%d connections left in the queue", n)
	}
	ended(t, cs)
	if err := b.Poll(0, sb); err != nil {
		t.Fatal(err)
	}
	dialQueued(t, ln2.Addr().String(), a.lns[0].fd, 1)
	drivertest.PollUntil(t, a, sa, func() bool { return len(sa.from) > 0 })
	if len(sa.from) != 1 || sa.from[0] != tok2 {
		t.Fatalf("accepted from %v, want one from %v", sa.from, tok2)
	}
	unix.Close(sa.Accepts[0].FD)
}

// Release with an unlistened listener whose accepts have not completed
// closes its descriptor too, and answers what it drains.
func TestUnlistenRelease(t *testing.T) {
	if _, err := New(); err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before := openFDs(t)
	p, err := newPoller(driver.Config{}, options{})
	if err != nil {
		t.Fatal(err)
	}
	s := drivertest.NewSink()
	if err := p.Listen(lnTok, ln, driver.SockOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(0, s); err != nil {
		t.Fatal(err)
	}
	cs := dialQueued(t, ln.Addr().String(), p.lns[0].fd, 2)
	if err := p.Unlisten(lnTok); err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	ended(t, cs)
	for _, c := range cs {
		c.Close()
	}
	if after := openFDs(t); after > before {
		t.Fatalf("descriptors: %d before, %d after", before, after)
	}
}
