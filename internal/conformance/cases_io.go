package conformance

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

func testEcho(t *testing.T, b Backend) {
	r := newRecorder(t)
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	for _, size := range []int{1, 100, 4096, 70000} {
		expectEcho(t, c, pattern(size, byte(size)))
	}
	c.CloseWrite()
	if rest, err := readAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after FIN: got %d bytes, err %v; want a clean EOF", len(rest), err)
	}
	if ev := r.waitClose(t); ev.err != nil || !ev.rec.peerFIN || ev.rec.closes != 1 {
		t.Fatalf("OnClose: %v, record %+v; want nil after OnPeerClosed", ev.err, ev.rec)
	}
}

// testManyConns echoes on 1,000 connections at once, every byte checked.
func testManyConns(t *testing.T, b Backend) {
	const conns, msgs = 1000, 5
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		c := dial(t, b, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for m := range msgs {
				msg := pattern(1+rng.IntN(8192), byte(i+m))
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("conn %d message %d: echo differs", i, m)
					return
				}
			}
			c.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for range conns {
		if ev := r.waitClose(t); ev.err != nil {
			t.Fatalf("%v", ev)
		}
	}
	if st := srv.Stats(); st.Accepted != conns || st.Closed != conns || st.Active != 0 {
		t.Fatalf("stats %+v; want %d accepted and closed, none active", st, conns)
	}
}

// testLargeSlowReader echoes 1 MiB messages to a client that reads in small
// pieces and pauses, so the server's writes stop on a full socket buffer and
// finish later. (A receive buffer far below the loopback MSS would stall
// TCP itself in zero-window probing, so the client keeps a moderate one.)
func testLargeSlowReader(t *testing.T, b Backend) {
	const size, count = 1 << 20, 8
	r := newRecorder(t)
	srv, addr := serve(t, b, r)
	c := dial(t, b, addr)
	c.SetReadBuffer(128 << 10)
	sent := make(chan []byte, count)
	go func() {
		for i := range count {
			msg := pattern(size, byte(i))
			sent <- msg
			if _, err := c.Write(msg); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	buf := make([]byte, 3000)
	for i := range count {
		want := wait(t, sent, "a message to be sent")
		got := make([]byte, 0, size)
		for len(got) < size {
			n, err := c.Read(buf[:min(len(buf), size-len(got))])
			if err != nil {
				t.Fatalf("read: %v after %d bytes of message %d; server %+v", err, len(got), i, srv.Stats())
			}
			got = append(got, buf[:n]...)
			if len(got)%(64<<10) < n {
				time.Sleep(time.Millisecond) // read slowly: load shaping, not synchronisation
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d differs", i)
		}
	}
	c.Close()
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
}

// testFIFOConcurrentWriters writes from many goroutines at once: each
// goroutine's messages must arrive complete and in its order.
func testFIFOConcurrentWriters(t *testing.T, b Backend) {
	const writers, perWriter = 8, 2000
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		var wg sync.WaitGroup
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					if _, err := fmt.Fprintf(c, "%d:%d\n", g, i); err != nil {
						t.Errorf("write: %v", err)
						return
					}
				}
			}()
		}
		go func() {
			wg.Wait()
			c.Close()
		}()
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	next := make([]int, writers)
	sc := bufio.NewScanner(c)
	lines := 0
	for sc.Scan() {
		var g, i int
		if _, err := fmt.Sscanf(sc.Text(), "%d:%d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("line %d: bad message %q", lines, sc.Text())
		}
		if i != next[g] {
			t.Fatalf("writer %d: got message %d, want %d", g, i, next[g])
		}
		next[g]++
		lines++
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read: %v", err)
	}
	if lines != writers*perWriter {
		t.Fatalf("got %d messages, want %d", lines, writers*perWriter)
	}
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
}

// testWriteBatching checks that writes made inside one callback leave in
// one write operation.
func testWriteBatching(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		for i := range 10 {
			c.Write([]byte{'0' + byte(i)})
		}
		c.Writev([][]byte{[]byte("-"), []byte("end")})
	}
	srv, addr := serve(t, b, r)
	c := dial(t, b, addr)
	want := "0123456789-end"
	if b.TLS != nil {
		testWriteBatchingTLS(t, srv, r, c, want)
		return
	}
	c.Write([]byte("go"))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	c.Close()
	r.waitClose(t) // the counters are final once the connection is gone
	if st := srv.Stats(); st.Writes != 1 || st.BytesWritten != uint64(len(want)) {
		t.Fatalf("stats: %d writes of %d bytes; want 1 write of %d", st.Writes, st.BytesWritten, len(want))
	}
}

// testWriteBatchingTLS: over TLS the handshake wrote already, and the
// connection's Close writes a close_notify, so the batch is measured
// between two moments when nothing is queued. Each Write is a record of
// its own (Writev joins its buffers into one): 11 records in one write.
// The client's handshake can end before the server's: TLS 1.3's session
// tickets, the server's last flight, are written after the client's
// Finished is read, so the batch is measured only once OnOpen (which comes
// after them) has run.
func testWriteBatchingTLS(t *testing.T, srv *proactor.Server, r *recorder, c *clientConn, want string) {
	const records = 11
	select {
	case <-r.opened:
	case <-time.After(testTimeout):
		t.Fatal("the server's handshake did not end")
	}
	before := settled(t, srv)
	c.Write([]byte("go"))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	after := settled(t, srv)
	if st := c.tls.ConnectionState(); st.Version != tls.VersionTLS13 {
		t.Fatalf("negotiated %s; the record overhead below is TLS 1.3's", tls.VersionName(st.Version))
	}
	// A TLS 1.3 record adds a 5-byte header, the inner content type and a
	// 16-byte AEAD tag.
	wantBytes := uint64(len(want) + records*(5+1+16))
	if w, n := after.Writes-before.Writes, after.BytesWritten-before.BytesWritten; w != 1 || n != wantBytes {
		t.Fatalf("stats: %d writes of %d bytes; want 1 write of %d", w, n, wantBytes)
	}
}

// settled samples the server's counters once nothing is queued: a write
// is counted when submitted and its bytes when it completes, which the
// peer's reading does not wait for.
func settled(t *testing.T, srv *proactor.Server) proactor.Stats {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := srv.Stats()
		if st.QueuedBytes == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still queued", st.QueuedBytes)
		}
		time.Sleep(time.Millisecond) // sampling: counters have no event
	}
}

// testCallbackOrder runs many connections with writes from other
// goroutines; the recorder fails the test on any overlap or misorder.
func testCallbackOrder(t *testing.T, b Backend) {
	const conns = 50
	pending := proactor.NewKey[*sync.WaitGroup]("pending echoes")
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) { pending.Set(c, new(sync.WaitGroup)) }
	r.onData = func(c *proactor.Conn, p []byte) {
		msg := append([]byte(nil), p...)
		wg, _ := pending.Get(c)
		wg.Go(func() { c.Write(msg) }) // echo from another goroutine
	}
	r.onPeer = func(c *proactor.Conn) {
		wg, _ := pending.Get(c)
		go func() {
			wg.Wait()
			c.Close()
		}()
	}
	_, addr := serve(t, b, r, proactor.WithLoops(2))
	var wg sync.WaitGroup
	for i := range conns {
		c := dial(t, b, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := pattern(1000, byte(i))
			for range 20 {
				if _, err := c.Write(msg); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
			c.CloseWrite()
			got, err := readAll(c)
			if err != nil || len(got) != 20*len(msg) {
				t.Errorf("conn %d: read %d bytes, %v; want %d", i, len(got), err, 20*len(msg))
			}
		}()
	}
	wg.Wait()
	for range conns {
		ev := r.waitClose(t)
		if ev.err != nil || !ev.rec.peerFIN || ev.rec.closes != 1 || len(ev.rec.data) != 20000 {
			t.Fatalf("%v: record %+v", ev, ev.rec)
		}
	}
}

// testWriteFromGoroutine echoes each read in three writes: the first and
// the last made by OnData, the middle one by a goroutine that OnData waits
// for, so that writes of the read buffer's bytes come from another
// goroutine while the read's callbacks run (a Write is safe from any
// goroutine, and data is valid until OnData returns). The client sends a
// few megabytes while reading slowly at first, so that some echoes find
// the socket full and what is left of them must be copied before the read
// buffer is reused. The echoed stream must be the stream sent.
func testWriteFromGoroutine(t *testing.T, b Backend) {
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		a, z := len(p)/3, 2*len(p)/3
		c.Write(p[:a])
		done := make(chan struct{})
		go func() {
			c.Write(p[a:z])
			close(done)
		}()
		<-done
		c.Write(p[z:])
	}
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	c.SetReadBuffer(128 << 10) // the server's socket fills: settle must copy what it cannot write
	sent := pattern(4<<20, 3)
	go func() {
		for p := sent; len(p) > 0; {
			n := min(len(p), 1+len(p)%20000)
			if _, err := c.Write(p[:n]); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			p = p[n:]
		}
	}()
	got := make([]byte, 0, len(sent))
	buf := make([]byte, 3000)
	for len(got) < len(sent) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		if len(got)%(64<<10) < n {
			time.Sleep(time.Millisecond) // read slowly: load shaping, not synchronisation
		}
	}
	if !bytes.Equal(got, sent) {
		i := 0
		for i < len(sent) && got[i] == sent[i] {
			i++
		}
		t.Fatalf("the echo differs from byte %d", i)
	}
	// The FIN only now: a server that closes with a megabyte still in its
	// socket, toward a small window, may have it dropped by the kernel.
	c.CloseWrite()
	if rest, err := readAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("after FIN: got %d more bytes, err %v; want a clean EOF", len(rest), err)
	}
	if ev := r.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
}

// testFanOut has each frame a client sends written by the server, from
// OnData's bytes, to every connection, its sender included: the sender's
// copy borrowed from the read buffer, the others' copied, while later
// reads reuse the read buffer. Every client must receive every frame
// intact, and each sender's frames in the order sent.
func testFanOut(t *testing.T, b Backend) {
	const clients, frames, size = 7, 200, 300
	var mu sync.Mutex
	var all []*proactor.Conn
	ready := make(chan struct{}, clients)
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		mu.Lock()
		all = append(all, c)
		mu.Unlock()
		ready <- struct{}{}
	}
	r.onData = func(_ *proactor.Conn, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range all {
			c.Write(p)
		}
	}
	lp := codec.LengthPrefixed{HeaderSize: 2}
	_, addr := serve(t, b, r, proactor.WithFramer(lp))
	conns := make([]*clientConn, clients)
	for i := range conns {
		conns[i] = dial(t, b, addr)
		wait(t, ready, "OnOpen")
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stream []byte
			for k := range frames {
				payload := pattern(size, byte(k))
				payload[0], payload[1] = byte(i), byte(k)
				stream, _ = lp.Append(stream, payload)
			}
			if _, err := c.Write(stream); err != nil {
				t.Errorf("write: %v", err)
			}
		}()
	}
	for i, c := range conns {
		next := make([]int, clients) // the next frame expected from each sender
		br := bufio.NewReader(c)
		for range clients * frames {
			frame := make([]byte, 2+size)
			if _, err := io.ReadFull(br, frame); err != nil {
				t.Fatalf("client %d: %v after %v frames", i, err, next)
			}
			from, k := int(frame[2]), int(frame[3])
			want := pattern(size, byte(next[from%clients]))
			want[0], want[1] = byte(from), byte(next[from%clients])
			if from >= clients || k != next[from]%256 || !bytes.Equal(frame[2:], want) {
				t.Fatalf("client %d: frame %d from %d differs (expected frame %d)", i, k, from, next[from%clients])
			}
			next[from]++
		}
	}
	wg.Wait()
}
