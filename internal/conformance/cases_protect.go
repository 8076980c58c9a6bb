package conformance

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// expectTimeout checks that an OnClose reason is the given timeout.
func expectTimeout(t *testing.T, ev closeEvent, kind proactor.TimeoutKind) {
	t.Helper()
	var te *proactor.TimeoutError
	if !errors.Is(ev.err, proactor.ErrTimeout) || !errors.As(ev.err, &te) || te.Kind != kind {
		t.Fatalf("%v; want a %v timeout", ev, kind)
	}
}

// testFirstDataTimeout: a client that connects and says nothing is reset;
// one that speaks at once is served past the timeout. Over TLS the silent
// client never begins its handshake, so it is reset without OnOpen (nor
// OnClose), and the timeout counts as the handshake's failure too.
//
// The honest client speaks while the server is paused, so its first bytes
// (over TLS its ClientHello) are in its socket when the server takes it
// and its timeout starts: a client that wrote only once connect(2) had
// returned was reset when its goroutine ran 150 ms late on a loaded
// machine.
func testFirstDataTimeout(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithFirstDataTimeout(150*time.Millisecond))
	srv.Pause()
	raw, err := net.DialTimeout(b.network(), addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	first := &firstWrite{sockConn: raw.(sockConn), wrote: make(chan struct{})}
	honest := clientOf(t, b, first)
	sent := sendLater(honest, []byte("hi"))
	wait(t, first.wrote, "the honest client's first bytes")
	srv.Resume()
	readExactly(t, honest, []byte("hi"))
	if err := wait(t, sent, "the honest client's write"); err != nil {
		t.Fatalf("write: %v", err)
	}
	silent := dialLazy(t, b, addr)
	if b.TLS == nil {
		expectTimeout(t, r.waitClose(t), proactor.FirstDataTimeout)
	}
	if _, err := readAll(silent.Raw()); !b.reset(err) {
		t.Fatalf("silent client: %v; want a reset", err)
	}
	expectEcho(t, honest, []byte("still served"))
	if st := srv.Stats(); st.FirstDataTimeouts != 1 {
		t.Fatalf("FirstDataTimeouts = %d", st.FirstDataTimeouts)
	}
	if b.TLS != nil {
		// The handshake's goroutine reports its failure after the reset.
		st := waitStats(t, srv, func(st proactor.Stats) bool { return st.TLSFailures != proactor.TLSFailures{} })
		if st.Accepted != 1 || st.TLSFailures != (proactor.TLSFailures{Timeout: 1}) {
			t.Fatalf("%d opened, handshake failures %+v; want the honest one opened, the silent one's timed out", st.Accepted, st.TLSFailures)
		}
	}
}

// firstWrite is a client's socket that tells when its first write has
// returned: its first bytes are then in the server's socket.
type firstWrite struct {
	sockConn
	once  sync.Once
	wrote chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	n, err := f.sockConn.Write(p)
	f.once.Do(func() { close(f.wrote) })
	return n, err
}

// waitStats samples the server's counters until ok holds: for counts made
// off the loop's path to the peer, which no event of the case follows.
func waitStats(t *testing.T, srv *proactor.Server, ok func(proactor.Stats) bool) proactor.Stats {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := srv.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// testIdleTimeout: an idle connection gets a FIN; a busy one stays.
//
// The busy client's pace is the case's own: on a loaded machine its
// goroutine can be descheduled for the whole timeout, and the server is
// then right to close it (the case failed so: "read echo: EOF"). The
// client bounds the server's longest wait between two of its messages
// (from a write to the echo of the next), and an attempt where that
// reached the timeout proves nothing and is made again; in any other, a
// busy connection closed is a failure.
func testIdleTimeout(t *testing.T, b Backend) {
	const attempts = 5
	for i := 1; !idleAttempt(t, b); i++ {
		if i == attempts {
			t.Fatalf("in each of %d attempts the busy client itself went a whole idle timeout without traffic", attempts)
		}
		t.Logf("attempt %d: the busy client itself went a whole idle timeout without traffic; again", i)
	}
}

// idleAttempt runs testIdleTimeout once, on a server of its own. It
// returns false if the busy client may have been idle for the timeout.
func idleAttempt(t *testing.T, b Backend) bool {
	const idle = 400 * time.Millisecond
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithIdleTimeout(idle))
	quiet := dial(t, b, addr)
	expectEcho(t, quiet, []byte("once"))
	prev := time.Now() // the start of the busy client's last round trip (its dial, first)
	busy := dial(t, b, addr)
	tick := func(msg string) bool {
		begin := time.Now()
		err := echoOnce(busy, []byte(msg))
		if time.Since(prev) >= idle {
			return false // the server may have waited a whole timeout for this message
		}
		if err != nil {
			t.Fatalf("busy client: %v", err)
		}
		prev = begin
		return true
	}
	start := time.Now()
	for time.Since(start) < 3*idle { // traffic keeps the busy one alive
		if !tick("tick") {
			return false
		}
		time.Sleep(idle / 8)
	}
	ev := r.waitClose(t)
	expectTimeout(t, ev, proactor.IdleTimeout)
	if got, err := readAll(quiet); err != nil || len(got) != 0 {
		t.Fatalf("quiet client: %q, %v; want a clean EOF", got, err)
	}
	if !tick("alive") {
		return false
	}
	if st := srv.Stats(); st.IdleTimeouts != 1 {
		t.Fatalf("IdleTimeouts = %d", st.IdleTimeouts)
	}
	return true
}

// lineHandler answers only whole lines: a request left unfinished is what
// the read timeout is for.
func lineHandler(r *recorder) {
	r.onData = func(c *proactor.Conn, p []byte) {
		if bytes.HasSuffix(r.received(c), []byte("\n")) {
			c.Write([]byte("ok\n"))
		}
	}
}

// testReadTimeout: a slowloris that trickles bytes without finishing its
// request is cut off although it is never idle.
func testReadTimeout(t *testing.T, b Backend) {
	const limit = 300 * time.Millisecond
	r := newRecorder(t)
	lineHandler(r)
	var logs logBuffer // at debug level, every close with an error is logged, and why
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, addr := serve(t, b, r, proactor.WithReadTimeout(limit), proactor.WithIdleTimeout(10*limit), proactor.WithLogger(logger))
	honest := dial(t, b, addr)
	honest.Write([]byte("request\n"))
	readLine(t, honest)
	slow := dial(t, b, addr)
	start := time.Now()
	for {
		if _, err := slow.Write([]byte("x")); err != nil {
			break // reset by the server
		}
		if time.Since(start) > 5*limit {
			t.Fatalf("slowloris still connected after %v", time.Since(start))
		}
		select {
		case ev := <-r.closed:
			expectTimeout(t, ev, proactor.ReadTimeout)
			if !strings.Contains(logs.String(), "read timeout") {
				t.Fatalf("no debug log line for the read timeout; log:\n%s", logs.String())
			}
			honest.Write([]byte("again\n"))
			readLine(t, honest)
			if st := srv.Stats(); st.ReadTimeouts != 1 {
				t.Fatalf("ReadTimeouts = %d", st.ReadTimeouts)
			}
			return
		case <-time.After(limit / 6):
		}
	}
	ev := r.waitClose(t)
	expectTimeout(t, ev, proactor.ReadTimeout)
}

func readLine(t *testing.T, c net.Conn) {
	t.Helper()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok\n" {
		t.Fatalf("reply %q, %v", buf, err)
	}
}

// testWriteTimeout: a peer that never reads is cut off once the queue
// stops moving, and memory is given back.
func testWriteTimeout(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) { c.Write(make([]byte, 32<<20)) }
	srv, addr := serve(t, b, r, proactor.WithWriteTimeout(200*time.Millisecond))
	dial(t, b, addr) // never reads
	ev := r.waitClose(t)
	expectTimeout(t, ev, proactor.WriteTimeout)
	if st := srv.Stats(); st.WriteTimeouts != 1 || st.QueuedBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// testStalledPeer: a peer that sends and never reads stalls the echo; with
// both timeouts set it is closed by the write timeout, on every engine,
// even though its input waits unanswered too (the soak saw the read
// timeout close such peers on std and uring, and not on epoll).
func testStalledPeer(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithReadTimeout(300*time.Millisecond), proactor.WithWriteTimeout(600*time.Millisecond))
	c := dial(t, b, addr)
	go c.Write(make([]byte, 16<<20)) // never reads; ends with the connection
	expectTimeout(t, r.waitClose(t), proactor.WriteTimeout)
	if st := srv.Stats(); st.WriteTimeouts != 1 || st.ReadTimeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// expectRejected dials from local (any address if empty) and checks that
// the client is turned away at once: the connection ends (a reset, or EOF if
// a failed write consumed the reset) without a byte of service. On loopback
// the reset can even beat connect(2) home, failing the dial itself. The
// client is plain TCP on every backend: the refusal comes before any TLS,
// so a TLS client would only see its handshake cut the same way.
func expectRejected(t *testing.T, b Backend, local, addr string) {
	t.Helper()
	d := net.Dialer{Timeout: testTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial(b.network(), addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("rejected dial: %v; want success or a reset", err)
		}
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	c.Write([]byte("hello?"))
	got, err := readAll(c)
	var ne net.Error
	if len(got) != 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("rejected client got %q, %v", got, err)
	}
}

// testMaxConns: one connection over the cap is reset before OnOpen; when a
// place frees up the next is admitted.
func testMaxConns(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithMaxConns(2))
	a, c := dial(t, b, addr), dial(t, b, addr)
	expectEcho(t, a, []byte("a"))
	expectEcho(t, c, []byte("c"))
	expectRejected(t, b, "", addr)
	if st := srv.Stats(); st.RejectedMaxConns != 1 || st.Accepted != 2 {
		t.Fatalf("stats %+v", st)
	}
	a.Close()
	r.waitClose(t)
	expectEcho(t, dial(t, b, addr), []byte("next"))
}

// testMaxConnsPerIP: the cap is per address.
func testMaxConnsPerIP(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithMaxConnsPerIP(1))
	expectEcho(t, dial(t, b, addr), []byte("first"))
	expectRejected(t, b, "", addr)
	if st := srv.Stats(); st.RejectedPerIP != 1 {
		t.Fatalf("stats %+v", st)
	}
	if other, ok := dialFrom(t, b, "127.0.0.2", addr); ok {
		expectEcho(t, other, []byte("other address"))
	}
}

// dialFrom dials from a given local address; Linux routes all of
// 127.0.0.0/8 to loopback, other systems may not (ok is false then).
func dialFrom(t *testing.T, b Backend, local, addr string) (*clientConn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: testTimeout}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if runtime.GOOS == "linux" {
			t.Fatalf("dial from %s: %v", local, err)
		}
		return nil, false
	}
	return clientOf(t, b, c), true
}

// testAllowDeny: deny wins over allow; outside the allow list is refused.
func testAllowDeny(t *testing.T, b Backend) {
	if runtime.GOOS != "linux" {
		t.Skip("needs 127.0.0.2 on loopback, which only Linux routes by default")
	}
	r := newRecorder(t)
	srv, addr := serve(t, b, r,
		proactor.WithAllow(netip.MustParsePrefix("127.0.0.0/30")),
		proactor.WithDeny(netip.MustParsePrefix("127.0.0.2/32")))
	c, _ := dialFrom(t, b, "127.0.0.1", addr)
	expectEcho(t, c, []byte("allowed"))
	expectRejected(t, b, "127.0.0.2", addr)
	expectRejected(t, b, "127.0.0.9", addr)
	if st := srv.Stats(); st.RejectedDenied != 2 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

type filterHandler struct {
	*recorder
	refused atomic.Int32
}

func (f *filterHandler) OnAccept(remote netip.AddrPort) bool {
	if remote.Port()%2 == 1 {
		f.refused.Add(1)
		return false
	}
	return true
}

// testAcceptFilter: OnAccept decides before any per-connection state.
func testAcceptFilter(t *testing.T, b Backend) {
	f := &filterHandler{recorder: newRecorder(t)}
	srv, addr := serve(t, b, f)
	for range 6 {
		d := net.Dialer{Timeout: testTimeout}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			continue // refused so fast that connect(2) saw the reset
		}
		cc := clientOf(t, b, c)
		if c.LocalAddr().(*net.TCPAddr).Port%2 == 1 {
			// Refused before any TLS: the raw socket shows it.
			cc.Raw().Write([]byte("odd"))
			if got, _ := readAll(cc.Raw()); len(got) != 0 {
				t.Fatalf("refused client got %q", got)
			}
		} else {
			expectEcho(t, cc, []byte("even"))
		}
	}
	if st := srv.Stats(); st.RejectedFilter != uint64(f.refused.Load()) || st.Accepted+st.RejectedFilter != 6 {
		t.Fatalf("stats %+v, refused %d", st, f.refused.Load())
	}
}

// testWriteTimeoutProgress: a peer that reads slowly but steadily is not
// cut off by the write timeout, however long the whole transfer takes, for
// written bytes and for a file alike.
func testWriteTimeoutProgress(t *testing.T, b Backend) {
	const size = 6 << 20
	content := pattern(size, 8)
	path := t.TempDir() + "/data"
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		c.Write(content)
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		c.SendFile(f, 0, size)
		c.Close()
	}
	// 12 MiB read at ~3 MB/s takes about 4 s: longer than the timeout, while
	// each 1 MiB operation completes well within it even on a loaded machine.
	srv, addr := serve(t, b, r, proactor.WithWriteTimeout(3*time.Second))
	c := dial(t, b, addr)
	got := make([]byte, 0, 2*size)
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
		// A slow, steady reader: load shaping, by the 64 KiB received
		// (a TLS read returns one record, 16 KiB at most).
		if len(got)%(64<<10) < n {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(got) != 2*size || !bytes.Equal(got[:size], content) || !bytes.Equal(got[size:], content) {
		t.Fatalf("got %d of %d bytes", len(got), 2*size)
	}
	if ev := r.waitClose(t); ev.err != nil || srv.Stats().WriteTimeouts != 0 {
		t.Fatalf("%v, %d write timeouts", ev, srv.Stats().WriteTimeouts)
	}
}

// testDeferAcceptBound: on a deferred listener the first-data timeout
// bounds the whole life of a client that connects and sends nothing, the
// kernel's wait included (a 2s timeout let one live 5s, and without a
// timeout one lived for ever). With 2s the kernel holds the client 1s and
// the connection's timer runs the rest; 1s leaves no room for the kernel's
// shortest wait, so that listener does not defer and the timer runs from
// accept. The limits are the contract, not a speed: the timeout, less
// nothing, plus the kernel's timer slack and the wheel's tick. Over TLS
// the silent client never begins its handshake, so the server never calls
// OnOpen (the moment of the hand-over goes unseen) nor OnClose: the bound
// and the reset are checked, and the timeouts counted.
func testDeferAcceptBound(t *testing.T, b Backend) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_DEFER_ACCEPT is Linux-only; elsewhere the option is a documented no-op")
	}
	const slack = 750 * time.Millisecond // generous: measured at ~30 ms
	r := newRecorder(t)
	var opened sync.Map // the client's address → when its OnOpen ran
	r.onOpen = func(c *proactor.Conn) { opened.Store(c.RemoteAddrPort(), time.Now()) }
	var logs logBuffer
	srv, _ := serve(t, b, r, proactor.WithLogger(logs.logger()))
	type silent struct {
		timeout, held time.Duration
		start         time.Time
		c             *clientConn
		err           error
		end           chan time.Time
	}
	clients := []*silent{{timeout: 2 * time.Second, held: time.Second}, {timeout: time.Second}}
	for _, s := range clients {
		addr, err := srv.Listen("127.0.0.1:0", proactor.WithDeferAccept(true), proactor.WithFirstDataTimeout(s.timeout))
		if err != nil {
			t.Fatal(err)
		}
		s.start, s.end = time.Now(), make(chan time.Time, 1)
		s.c = dialLazy(t, b, addr.String())
		go func() {
			_, s.err = readAll(s.c.Raw())
			s.end <- time.Now()
		}()
	}
	for _, s := range clients {
		life := wait(t, s.end, "the silent client's end").Sub(s.start)
		t.Logf("first-data timeout %v: the silent client lived %v", s.timeout, life)
		if !errors.Is(s.err, syscall.ECONNRESET) {
			t.Errorf("timeout %v: the silent client got %v; want a reset", s.timeout, s.err)
		}
		if life < s.timeout-2*wheelTick || life > s.timeout+slack {
			t.Errorf("timeout %v: the silent client lived %v; want the timeout, at most %v more", s.timeout, life, slack)
		}
		if b.TLS != nil {
			continue
		}
		at, ok := opened.Load(addrPort(s.c.LocalAddr()))
		if !ok {
			t.Fatalf("timeout %v: closed without OnOpen", s.timeout)
		}
		if held := at.(time.Time).Sub(s.start); held < s.held {
			t.Errorf("timeout %v: handed over after %v; the kernel should hold it %v", s.timeout, held, s.held)
		}
	}
	if b.TLS != nil {
		if st := srv.Stats(); st.FirstDataTimeouts != 2 || st.Accepted != 0 {
			t.Errorf("%d first-data timeouts, %d opened; want 2 and none", st.FirstDataTimeouts, st.Accepted)
		}
	} else {
		for range clients {
			expectTimeout(t, r.waitClose(t), proactor.FirstDataTimeout)
		}
	}
	if !strings.Contains(logs.String(), "too short to defer") {
		t.Errorf("no warning that the 1s listener does not defer; log:\n%s", logs.String())
	}
}

// wheelTick is the timing wheel's granularity: a timer may fire up to a
// tick early or late.
const wheelTick = 20 * time.Millisecond
