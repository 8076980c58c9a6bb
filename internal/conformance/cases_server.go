package conformance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/buffer"
)

// testPauseResume: while paused, a new connection waits in the backlog and
// is not accepted; Resume accepts it. (Over TLS its handshake waits too, so
// the waiting client writes from another goroutine.)
func testPauseResume(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(1))
	early := dial(t, b, addr)
	expectEcho(t, early, []byte("before"))
	srv.Pause()
	waiting := dialLazy(t, b, addr) // completes in the kernel's backlog
	sent := sendLater(waiting, []byte("queued"))
	// Round trips on the one loop give it every chance to accept wrongly.
	for range 20 {
		expectEcho(t, early, []byte("during"))
	}
	if st := srv.Stats(); st.Accepted != 1 || srv.ConnCount() != 1 {
		t.Fatalf("paused server accepted: %+v", st)
	}
	srv.Resume()
	got := make([]byte, 6)
	if _, err := io.ReadFull(waiting, got); err != nil || string(got) != "queued" {
		t.Fatalf("after Resume: %q, %v", got, err)
	}
	if err := wait(t, sent, "the waiting client's write"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if st := srv.Stats(); st.Accepted != 2 {
		t.Fatalf("Accepted = %d after Resume; want 2", st.Accepted)
	}
}

type flow struct {
	local      string
	sent, recv []byte
	err        error
}

// testShutdownInFlight shuts down while clients stream: every byte the
// server received is echoed before its connection closes, and Shutdown
// returns nil once all are closed.
func testShutdownInFlight(t *testing.T, b Backend) {
	const clients = 20
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	flows := make([]flow, clients)
	started := make(chan struct{}, clients)
	streaming := make(chan struct{})
	var wg sync.WaitGroup
	for i := range flows {
		c := dial(t, b, addr)
		f := &flows[i]
		f.local = c.LocalAddr().String()
		if b.Unix { // unnamed unix peers: each known by its first bytes
			f.local = string(pattern(512, byte(i))[:16])
		}
		stop := make(chan struct{})
		var sentMu sync.Mutex
		wg.Add(2)
		go func() { // writer: streams until the server's FIN arrives, 4 MiB at most
			defer wg.Done()
			// Bounded: 20 writers streaming without end starved the loops
			// under -race (most of the CPU in the race detector's checks
			// of the writers' own appends) until the clients timed out.
			for k := 0; k < 8192; k++ {
				if k == 8 {
					// 4 KiB, for the reader's sign of traffic; the rest
					// once every client has it, so that all stream
					// together into the shutdown rather than the first
					// ones streaming (TLS, -race) while the last dial.
					select {
					case <-streaming:
					case <-stop:
						return
					}
				}
				select {
				case <-stop:
					return
				default:
				}
				msg := pattern(512, byte(i+k))
				c.SetWriteDeadline(time.Now().Add(testTimeout))
				if _, err := c.Write(msg); err != nil {
					return
				}
				sentMu.Lock()
				f.sent = append(f.sent, msg...)
				sentMu.Unlock()
			}
		}()
		go func() { // reader: until EOF, then stops the writer and closes
			defer wg.Done()
			buf := make([]byte, 4096)
			signalled := false
			for {
				// A deadline per read, not per connection: the first
				// clients may have streamed all they had and wait for the
				// FIN while the last ones still handshake (TLS, -race:
				// over 20 s), so the dial's deadline would pass first.
				c.SetReadDeadline(time.Now().Add(testTimeout))
				n, err := c.Read(buf)
				f.recv = append(f.recv, buf[:n]...)
				if !signalled && len(f.recv) >= 4096 {
					signalled = true
					started <- struct{}{}
				}
				if err != nil {
					if err != io.EOF {
						f.err = err
					}
					break
				}
			}
			if !signalled {
				started <- struct{}{}
			}
			close(stop)
			sentMu.Lock() // the writer may be mid-append
			sentMu.Unlock()
			c.Close()
		}()
	}
	for range clients {
		wait(t, started, "traffic on every connection")
	}
	close(streaming)
	if err := srv.Shutdown(ctxTimeout(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	for i, f := range flows { // a client's own failure first: it explains the server's
		if f.err != nil {
			t.Fatalf("client %d: %v", i, f.err)
		}
	}
	server := map[string]closeEvent{}
	for range clients {
		ev := r.waitClose(t)
		if ev.err != nil {
			t.Fatalf("%v", ev)
		}
		key := ev.c.RemoteAddr().String()
		if b.Unix && len(ev.rec.data) >= 16 {
			key = string(ev.rec.data[:16])
		}
		server[key] = ev
	}
	for i, f := range flows {
		ev, ok := server[f.local]
		switch {
		case !ok:
			t.Fatalf("client %d: no server connection", i)
		case f.err != nil:
			t.Fatalf("client %d: %v", i, f.err)
		case !bytes.Equal(f.recv, ev.rec.data):
			t.Fatalf("client %d: got %d bytes back; the server read %d", i, len(f.recv), len(ev.rec.data))
		case !bytes.HasPrefix(f.sent, f.recv):
			t.Fatalf("client %d: the echo is not what was sent", i)
		}
	}
	if n := srv.ConnCount(); n != 0 {
		t.Fatalf("ConnCount = %d after Shutdown", n)
	}
}

// testShutdownIdle: like net/http's, Shutdown closes a connection with
// nothing owed at once, with a FIN and a short linger, even if the peer
// never closes its side (nc holding a connection open): it does not wait
// out the lingering close (5 s by default) or its context.
func testShutdownIdle(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r)
	c := dial(t, b, addr)
	expectEcho(t, c, []byte("hi"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with one idle connection: %v; want nil well before the 5 s linger", err)
	}
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v; want a clean close", ev)
	}
	if got, err := readAll(c); err != nil || len(got) != 0 {
		t.Fatalf("client read %q, %v; want a clean end", got, err)
	}
}

type stubbornHandler struct{ *recorder }

func (stubbornHandler) OnShutdown(*proactor.Conn) {} // ignores the request to stop

// testShutdownDeadline: when connections ignore the shutdown, the context
// ends it: they are aborted and Shutdown returns a *ShutdownError wrapping
// ctx.Err() that counts them, and those that owed their peer a reply.
func testShutdownDeadline(t *testing.T, b Backend) {
	r := newRecorder(t)
	held := make(chan struct{})
	r.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "hold" {
			close(held) // read and never answered
			return
		}
		c.Write(p)
	}
	srv, addr := serve(t, b, stubbornHandler{r})
	var clients []*clientConn
	for range 3 {
		c := dial(t, b, addr)
		expectEcho(t, c, []byte("hi"))
		clients = append(clients, c)
	}
	owing := dial(t, b, addr)
	owing.Write([]byte("hold"))
	wait(t, held, "the unanswered request")
	clients = append(clients, owing)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(mustListen(t)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	var se *proactor.ShutdownError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &se) || se.Aborted != 4 || se.Owing != 1 {
		t.Fatalf("Shutdown: %v; want a ShutdownError of DeadlineExceeded, 4 aborted, 1 owing", err)
	}
	for range clients {
		if ev := r.waitClose(t); !errors.Is(ev.err, proactor.ErrShutdownTimeout) {
			t.Fatalf("%v; want ErrShutdownTimeout", ev)
		}
	}
	for _, c := range clients {
		if _, err := readAll(c); !b.reset(err) {
			t.Fatalf("client read: %v; want a reset", err)
		}
	}
	if err := wait(t, served, "Serve to return"); !errors.Is(err, proactor.ErrServerClosed) {
		t.Fatalf("Serve: %v; want ErrServerClosed", err)
	}
	if _, err := srv.Listen("127.0.0.1:0"); !errors.Is(err, proactor.ErrServerClosed) {
		t.Fatalf("Listen after Shutdown: %v", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// testCloseAborts: Close resets every connection at once.
func testCloseAborts(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r)
	var clients []*clientConn
	for range 3 {
		c := dial(t, b, addr)
		expectEcho(t, c, []byte("hi"))
		clients = append(clients, c)
	}
	srv.Close()
	for range clients {
		if ev := r.waitClose(t); !errors.Is(ev.err, proactor.ErrServerClosed) {
			t.Fatalf("%v; want ErrServerClosed", ev)
		}
	}
	for _, c := range clients {
		if _, err := readAll(c); !b.reset(err) {
			t.Fatalf("client read: %v; want a reset", err)
		}
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatalf("dial after Close succeeded; the listener should be gone")
	}
}

// testRegistry: lookup, range, broadcast and close-all over live connections.
func testRegistry(t *testing.T, b Backend) {
	const n = 5
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	var clients []*clientConn
	ids := map[uint64]bool{}
	for range n {
		clients = append(clients, dial(t, b, addr))
		ids[wait(t, r.opened, "OnOpen").ID()] = true
	}
	if srv.ConnCount() != n || len(ids) != n {
		t.Fatalf("ConnCount %d, distinct IDs %d; want %d", srv.ConnCount(), len(ids), n)
	}
	for id := range ids {
		c, ok := srv.Conn(id)
		if !ok || c.ID() != id {
			t.Fatalf("Conn(%d) = %v, %v", id, c, ok)
		}
		c.Release()
	}
	if _, ok := srv.Conn(1 << 60); ok {
		t.Fatalf("Conn of an unknown ID found something")
	}
	seen := 0
	srv.Range(func(*proactor.Conn) bool { seen++; return seen < 2 })
	if seen != 2 {
		t.Fatalf("Range did not stop when told: %d calls", seen)
	}
	if got := srv.Broadcast([]byte("news")); got != n {
		t.Fatalf("Broadcast reached %d; want %d", got, n)
	}
	for _, c := range clients {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "news" {
			t.Fatalf("broadcast: %q, %v", buf, err)
		}
	}
	srv.CloseAll()
	for _, c := range clients {
		go func() { readAll(c); c.Close() }()
	}
	for range n {
		if ev := r.waitClose(t); ev.err != nil {
			t.Fatalf("%v", ev)
		}
	}
	if srv.ConnCount() != 0 {
		t.Fatalf("ConnCount = %d after CloseAll", srv.ConnCount())
	}
}

type upperHandler struct{ proactor.BaseHandler }

func (upperHandler) OnData(c *proactor.Conn, p []byte) { c.Write(bytes.ToUpper(p)) }

// testSharedEngine: two servers, three listeners, one engine.
func testSharedEngine(t *testing.T, b Backend) {
	eng, err := proactor.NewEngine(append(b.Options, proactor.WithLoops(2))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	echo, err := proactor.NewServer(newRecorder(t), append(b.serverOptions(), proactor.WithEngine(eng))...)
	if err != nil {
		t.Fatal(err)
	}
	upper, err := proactor.NewServer(upperHandler{}, append(b.serverOptions(), proactor.WithEngine(eng))...)
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := echo.Listen(b.listenAddr(t))
	a2, _ := echo.Listen(b.listenAddr(t))
	a3, err := upper.Listen(b.listenAddr(t))
	if err != nil || len(echo.Addrs()) != 2 {
		t.Fatalf("listen: %v, %v", err, echo.Addrs())
	}
	expectEcho(t, dial(t, b, a1.String()), []byte("one"))
	expectEcho(t, dial(t, b, a2.String()), []byte("two"))
	u := dial(t, b, a3.String())
	u.Write([]byte("three"))
	got := make([]byte, 5)
	if _, err := io.ReadFull(u, got); err != nil || string(got) != "THREE" {
		t.Fatalf("upper: %q, %v", got, err)
	}
	echo.Close()
	u.Write([]byte("four"))
	if _, err := io.ReadFull(u, got[:4]); err != nil || string(got[:4]) != "FOUR" {
		t.Fatalf("upper after the other server closed: %q, %v", got[:4], err)
	}
	upper.Close()
	eng.Close()
	if _, err := proactor.NewServer(upperHandler{}, proactor.WithEngine(eng)); !errors.Is(err, proactor.ErrEngineClosed) {
		t.Fatalf("NewServer on a closed engine: %v", err)
	}
}

// testValues: per-connection user data.
func testValues(t *testing.T, b Backend) {
	name := proactor.NewKey[string]("name")
	count := proactor.NewKey[int]("count")
	keyA, keyB := proactor.NewKey[string]("a"), proactor.NewKey[int]("a") // the same name: still two keys
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		keyA.Set(c, "a")
		keyB.Set(c, 2)
		name.Set(c, "client")
		c.SetContext(&bytes.Buffer{})
	}
	r.onData = func(c *proactor.Conn, p []byte) {
		n, _ := count.Get(c)
		count.Set(c, n+1)
		c.Context().(*bytes.Buffer).Write(p)
		a, _ := keyA.Get(c)
		b, _ := keyB.Get(c)
		if s, ok := name.Get(c); !ok || s != "client" || a != "a" || b != 2 {
			t.Errorf("values lost: %v %v %v", s, a, b)
		}
		name.Delete(c)
		if a, _ := keyA.Get(c); a != "a" {
			t.Errorf("Delete removed the wrong value")
		}
		if _, ok := name.Get(c); ok {
			t.Errorf("Delete removed the wrong value")
		}
		name.Set(c, "client")
		c.Write(p)
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	expectEcho(t, c, []byte("x"))
	expectEcho(t, c, []byte("y"))
	sc := wait(t, r.opened, "OnOpen")
	c.Close()
	r.waitClose(t)
	if n, _ := count.Get(sc); n != 2 || sc.Context().(*bytes.Buffer).String() != "xy" {
		t.Fatalf("count %d, context %q", n, sc.Context())
	}
}

// testWriteBuffer: pooled buffers go out without a copy, one buffer shared
// by every connection of a broadcast, and every reference comes back.
func testWriteBuffer(t *testing.T, b Backend) {
	const n = 4
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	var clients []*clientConn
	var conns []*proactor.Conn
	for range n {
		clients = append(clients, dial(t, b, addr))
		conns = append(conns, wait(t, r.opened, "OnOpen"))
	}
	shared := buffer.New(pattern(100<<10, 4)) // unpooled: its count stays readable
	if got := srv.BroadcastBuffer(shared); got != n {
		t.Fatalf("BroadcastBuffer reached %d; want %d", got, n)
	}
	own := srv.Engine().Buffers().Get(5)
	copy(own.Bytes(), "tail!")
	if err := conns[0].WriteBuffer(own); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		want := pattern(100<<10, 4)
		if i == 0 {
			want = append(want, "tail!"...)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(testTimeout)
	for shared.Refs() != 0 { // released as each connection's write completes
		if time.Now().After(deadline) {
			t.Fatalf("shared buffer still has %d references", shared.Refs())
		}
		time.Sleep(time.Millisecond)
	}
	clients[1].Close()
	r.waitClose(t)
	late := buffer.New([]byte("late"))
	if err := conns[1].WriteBuffer(late); !errors.Is(err, proactor.ErrClosed) || late.Refs() != 0 {
		t.Fatalf("WriteBuffer on a closed connection: %v, %d references left", err, late.Refs())
	}
}

// testSendFile: file bytes go out in order with the writes around them, a
// slow reader included, and the connection closes the file when done.
func testSendFile(t *testing.T, b Backend) {
	const size, off, n = 3 << 20, 1000, 2 << 20
	content := pattern(size, 6)
	path := t.TempDir() + "/data"
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		files = append(files, f)
		c.Write([]byte("head:"))
		if err := c.SendFile(f, off, n); err != nil {
			t.Errorf("SendFile: %v", err)
		}
		c.Write([]byte(":tail"))
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	c.SetReadBuffer(64 << 10)
	want := append(append([]byte("head:"), content[off:off+n]...), ":tail"...)
	for range 2 {
		c.Write([]byte("get"))
		readExactly(t, c, want)
	}
	c.Close()
	r.waitClose(t)
	for _, f := range files {
		if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("the connection left the file open: %v", err)
		}
	}
}

// testReusePort: a WithReusePort listener is one socket per loop on one
// address, which a plain bind (without SO_REUSEPORT) then fails on; it
// echoes, pauses and resumes as one listener, and Shutdown closes every
// socket.
func testReusePort(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, err := proactor.NewServer(r, append(append(append([]proactor.Option{}, b.Options...), b.serverOptions()...), proactor.WithLoops(2))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0", proactor.WithReusePort(true))
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no SO_REUSEPORT on this OS")
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := a.String()
	if addrs := srv.Addrs(); len(addrs) != 1 || addrs[0].String() != addr {
		t.Fatalf("Addrs = %v, want %s once", addrs, addr)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatal("another socket could bind the address")
	}
	early := make([]*clientConn, 16)
	for i := range early {
		early[i] = dial(t, b, addr)
		expectEcho(t, early[i], []byte("before"))
	}
	srv.Pause()
	waiting := make([]*clientConn, 8)
	var sent []<-chan error
	for i := range waiting {
		waiting[i] = dialLazy(t, b, addr) // in one of the sockets' backlogs
		sent = append(sent, sendLater(waiting[i], []byte("queued")))
	}
	for range 5 {
		for _, c := range early {
			expectEcho(t, c, []byte("during"))
		}
	}
	if st := srv.Stats(); st.Accepted != 16 {
		t.Fatalf("paused server accepted: %d, want 16", st.Accepted)
	}
	srv.Resume()
	for i, c := range waiting {
		got := make([]byte, 6)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "queued" {
			t.Fatalf("after Resume: %q, %v", got, err)
		}
		if err := wait(t, sent[i], "a waiting client's write"); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	for _, c := range append(early, waiting...) {
		c.CloseWrite()
	}
	if err := srv.Shutdown(ctxTimeout(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a socket still listens after Shutdown")
	}
}

// testDo: Conn.Do runs its functions on the connection's loop in order,
// never during a callback of the connection (the recorder checks), not
// after the connection has closed, and a panic in one closes the
// connection as a callback's would.
func testDo(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(1))
	cl := dial(t, b, addr)
	c := wait(t, r.opened, "OnOpen")

	// From another goroutine while the client streams, so that OnData and
	// the functions compete for the loop.
	inDo := func(c *proactor.Conn, f func()) {
		rec := r.enter(c, "Do")
		f()
		r.leave(rec)
	}
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if err := c.Do(func(c *proactor.Conn) {
				inDo(c, func() { c.Write([]byte{byte('a' + i%26)}) })
			}); err != nil {
				t.Errorf("Do: %v", err)
				return
			}
		}
	}()
	msg := bytes.Repeat([]byte("0123456789"), 400) // no letters: those are Do's
	go cl.Write(msg)                               // echoed by OnData, interleaved with the Do writes
	got := make([]byte, len(msg)+n)
	if _, err := io.ReadFull(cl, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	<-done
	// The Do writes come in their order, whatever the echo's interleaving.
	var letters []byte
	for _, ch := range got {
		if ch >= 'a' && ch <= 'z' {
			letters = append(letters, ch)
		}
	}
	if len(letters) != n {
		t.Fatalf("%d Do writes arrived, want %d", len(letters), n)
	}
	for i, ch := range letters {
		if want := byte('a' + i%26); ch != want {
			t.Fatalf("Do write %d is %q, want %q (out of order)", i, ch, want)
		}
	}

	// After OnClose, a Do's function does not run; one queued behind it on
	// the same loop (another connection) shows that its turn has come.
	cl.CloseWrite()
	wait(t, r.closed, "OnClose")
	ran := make(chan struct{}, 1)
	if err := c.Do(func(*proactor.Conn) { ran <- struct{}{} }); err != nil {
		t.Fatalf("Do on a closed connection: %v", err)
	}
	cl2 := dial(t, b, addr)
	c2 := wait(t, r.opened, "OnOpen")
	turn := make(chan struct{})
	c2.Do(func(*proactor.Conn) { close(turn) })
	wait(t, turn, "the second connection's Do")
	select {
	case <-ran:
		t.Fatal("a Do function ran after OnClose")
	default:
	}

	// A panic closes the connection with a PanicError.
	c2.Do(func(*proactor.Conn) { panic("in Do") })
	if ev := r.waitClose(t); !errors.Is(ev.err, proactor.ErrPanic) {
		t.Fatalf("after a panic in Do: OnClose(%v)", ev.err)
	}
	cl2.Close()

	srv.Close()
	if err := c2.Do(func(*proactor.Conn) {}); !errors.Is(err, proactor.ErrClosed) {
		t.Fatalf("Do after the engine closed: %v; want ErrClosed", err)
	}
}
