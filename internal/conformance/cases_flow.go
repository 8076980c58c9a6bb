package conformance

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

type writableRecorder struct {
	*recorder
	writable atomic.Int32
}

func (w *writableRecorder) OnWritable(*proactor.Conn) { w.writable.Add(1) }

// testBackpressure: a peer that sends without reading stops being read once
// the echo queue passes the high watermark, so the server's memory stays
// bounded; when it reads again everything arrives and OnWritable runs.
func testBackpressure(t *testing.T, b Backend) {
	const high, low, total = 256 << 10, 64 << 10, 16 << 20
	w := &writableRecorder{recorder: newRecorder(t)}
	srv, addr := serve(t, b, w, proactor.WithWriteWatermarks(high, low))
	c := dial(t, b, addr)
	payload := pattern(total, 9)
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		sent <- err
	}()
	// Wait until the server has paused reading for backpressure, then
	// watch the queue stay bounded a while. It may pass high by what the
	// reads of one loop iteration bring.
	deadline := time.Now().Add(testTimeout)
	for srv.Stats().ReadPauses == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the server never paused reading: %+v", srv.Stats())
		}
		time.Sleep(5 * time.Millisecond) // sampling: counters have no event
	}
	for range 10 {
		time.Sleep(20 * time.Millisecond) // give a broken server time to overrun
		if st := srv.Stats(); st.QueuedBytes > high+(256<<10) || st.BytesRead >= total/2 {
			t.Fatalf("paused yet growing: %d bytes queued (high %d), %d read", st.QueuedBytes, high, st.BytesRead)
		}
	}
	got := make([]byte, total)
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("echo: %v", err)
	}
	if err := wait(t, sent, "the writer"); err != nil {
		t.Fatal(err)
	}
	if w.writable.Load() == 0 {
		t.Fatalf("OnWritable never ran")
	}
}

// testQueueFull: a Write that would pass WithMaxWriteQueue fails with
// ErrQueueFull, queues nothing and aborts the connection: the peer gets a
// prefix of what was queued, then a reset (never a clean end), and OnClose
// says why.
func testQueueFull(t *testing.T, b Backend) {
	const max, piece = 1 << 20, 256 << 10
	result := make(chan error, 1)
	r := newRecorder(t)
	// On the client's first bytes, not in OnOpen: a reset sent as the
	// connection opens can beat the client's connect(2) home and fail the
	// dial itself (seen on uring).
	var once sync.Once
	var overflow func(c *proactor.Conn)
	r.onData = func(c *proactor.Conn, _ []byte) { once.Do(func() { overflow(c) }) }
	overflow = func(c *proactor.Conn) {
		p := pattern(piece, 3)
		var err error
		for i := 0; i < 64 && err == nil; i++ {
			_, err = c.Write(p)
		}
		if c.Buffered() > max {
			t.Errorf("Buffered() = %d over the cap %d", c.Buffered(), max)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, proactor.ErrClosed) {
			t.Errorf("write after the overflow: %v; want ErrClosed", err)
		}
		result <- err
	}
	srv, addr := serve(t, b, r, proactor.WithWriteWatermarks(256<<10, 64<<10), proactor.WithMaxWriteQueue(max))
	c := dial(t, b, addr)
	c.Write([]byte("go"))
	if err := wait(t, result, "the writes"); !errors.Is(err, proactor.ErrQueueFull) {
		t.Fatalf("write past the cap: %v; want ErrQueueFull", err)
	}
	if ev := r.waitClose(t); !errors.Is(ev.err, proactor.ErrQueueFull) {
		t.Fatalf("OnClose(%v); want ErrQueueFull", ev.err)
	}
	got, err := readAll(c)
	if !b.reset(err) {
		t.Fatalf("peer read %d bytes then %v; want ECONNRESET", len(got), err)
	}
	want := bytes.Repeat(pattern(piece, 3), max/piece)
	if len(got) > len(want) || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("peer read %d bytes that are not a prefix of the %d queued", len(got), len(want))
	}
	if st := srv.Stats(); st.Overflows != 1 || st.QueuedBytes != 0 {
		t.Fatalf("Stats(): %d overflows, %d bytes queued; want 1 and none, the queue dropped with the connection", st.Overflows, st.QueuedBytes)
	}
}

// testNoHole is the stream-integrity case: an echo that ignores its Write
// errors, with a small cap and reading never paused (a relay's settings),
// under a peer that sends 20 MiB without reading. The cap is hit; what the
// peer then reads must be a prefix of what it sent, ended by a reset: no
// byte skipped, and no clean end that would pass a hole off as a stream.
func testNoHole(t *testing.T, b Backend) {
	const total, max = 20 << 20, 512 << 10
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) { c.Write(p) } // the error is ignored on purpose
	srv, addr := serve(t, b, r, proactor.WithReadPause(false), proactor.WithMaxWriteQueue(max))
	c := dial(t, b, addr)
	payload := pattern(total, 11)
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		sent <- err
	}()
	if ev := r.waitClose(t); !errors.Is(ev.err, proactor.ErrQueueFull) {
		t.Fatalf("OnClose(%v); want ErrQueueFull", ev.err)
	}
	// The reset reaches whichever of the client's calls sees it first (the
	// kernel reports a socket's error once): the blocked writer, or the
	// reader, which then sees the end of the stream. A unix socket has no
	// reset: its peer gets ECONNRESET only if the server left bytes unread,
	// and otherwise the blocked writer's EPIPE is the break.
	werr := wait(t, sent, "the writer")
	got, rerr := readAll(c)
	broken := errors.Is(werr, syscall.ECONNRESET) || errors.Is(rerr, syscall.ECONNRESET) ||
		b.Unix && errors.Is(werr, syscall.EPIPE)
	if !broken {
		t.Fatalf("writer: %v, reader: %v after %d bytes; want a reset for one of them", werr, rerr, len(got))
	}
	if !bytes.Equal(got, payload[:len(got)]) {
		i := 0
		for i < len(got) && got[i] == payload[i] {
			i++
		}
		t.Fatalf("the echo differs from the stream at byte %d of %d read", i, len(got))
	}
	if st := srv.Stats(); st.Overflows != 1 {
		t.Fatalf("Stats().Overflows = %d; want 1", st.Overflows)
	}
}

// expectEchoAfter reads past whatever arrives before the echo of msg.
func expectEchoAfter(t *testing.T, c io.ReadWriter, msg []byte) {
	t.Helper()
	c.Write(msg)
	var seen []byte
	buf := make([]byte, 64<<10)
	for !bytes.HasSuffix(seen, msg) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for the echo: %v", err)
		}
		seen = append(seen[max(0, len(seen)-len(msg)):], buf[:n]...)
	}
}

// testPauseRead: no OnData while paused; what arrived meanwhile comes after
// ResumeRead.
func testPauseRead(t *testing.T, b Backend) {
	var conn atomic.Pointer[proactor.Conn]
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "pause" {
			conn.Store(c)
			c.PauseRead()
		}
		c.Write(p)
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	expectEcho(t, c, []byte("pause"))
	c.Write([]byte("later"))
	time.Sleep(100 * time.Millisecond) // a negative: give a broken pause time to deliver
	if got := string(r.received(conn.Load())); got != "pause" {
		t.Fatalf("paused connection received %q", got)
	}
	conn.Load().ResumeRead()
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "later" {
		t.Fatalf("after ResumeRead: %q, %v", got, err)
	}
}

// testDeferAccept: with TCP_DEFER_ACCEPT the server never sees a silent
// connection; one that sends is handed over with its data. (Over TLS the
// data is the ClientHello, and a connection handed over without it would
// wait in its handshake, not opened but counted in ConnCount.)
func testDeferAccept(t *testing.T, b Backend) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_DEFER_ACCEPT is Linux-only; elsewhere the option is a documented no-op")
	}
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithDeferAccept(true), proactor.WithFirstDataTimeout(5*time.Second))
	dialLazy(t, b, addr) // silent: stays in the kernel
	speaker := dial(t, b, addr)
	expectEcho(t, speaker, []byte("data first"))
	time.Sleep(100 * time.Millisecond) // a negative: the silent one must not arrive
	if st := srv.Stats(); st.Accepted != 1 || srv.ConnCount() != 1 {
		t.Fatalf("Accepted = %d, ConnCount = %d; the silent connection was handed over", st.Accepted, srv.ConnCount())
	}
}

// testPausedHangup: the peer sends and half-closes, the server half-closes
// too while its reading is paused, so the socket is shut both ways with
// input unread. That is no reason to close: ResumeRead must still deliver
// every byte, then the end of stream.
func testPausedHangup(t *testing.T, b Backend) {
	var server atomic.Pointer[proactor.Conn]
	opened := make(chan struct{})
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		if server.CompareAndSwap(nil, c) {
			c.PauseRead()
			close(opened)
		}
	}
	// One loop: the echo on the second connection below then proves the
	// loop has polled since the first one's hang-up.
	_, addr := serve(t, b, r, proactor.WithLoops(1))
	c := dial(t, b, addr)
	msg := pattern(20000, 3)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	wait(t, opened, "OnOpen")
	server.Load().CloseWrite()
	if rest, err := readAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("waiting for the server's FIN: %d bytes, %v", len(rest), err)
	}
	other := dial(t, b, addr)
	expectEcho(t, other, []byte("the loop has polled"))
	select {
	case ev := <-r.closed:
		t.Fatalf("closed while paused with input unread: %v", ev)
	default:
	}
	server.Load().ResumeRead()
	ev := r.waitClose(t)
	if ev.c != server.Load() || ev.err != nil || !bytes.Equal(ev.rec.data, msg) || !ev.rec.peerFIN {
		t.Fatalf("%v after %d of %d bytes (peer FIN seen: %v)", ev, len(ev.rec.data), len(msg), ev.rec.peerFIN)
	}
	other.Close()
	r.waitClose(t)
}
