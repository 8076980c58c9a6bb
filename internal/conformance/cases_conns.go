package conformance

import (
	"net/netip"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// testConns lists connections through Server.Conns while they are in
// different states: addresses, loop, age, byte counts, and the input and
// output sides as a handler's requests and the peer's actions move them.
func testConns(t *testing.T, b Backend) {
	r := newRecorder(t)
	peerClosed := make(chan *proactor.Conn, 4)
	r.onPeer = func(c *proactor.Conn) { peerClosed <- c } // stays open: input "eof"
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	start := time.Now()

	find := func(id uint64) proactor.ConnInfo {
		t.Helper()
		for _, ci := range srv.Conns() {
			if ci.ID == id {
				return ci
			}
		}
		t.Fatalf("connection %d not in Conns", id)
		panic("unreachable")
	}

	// until asks the listing until ok holds: a write completes after the
	// peer has its bytes on some engines (std, and TLS's own records), and
	// no event tells when.
	until := func(id uint64, ok func(proactor.ConnInfo) bool) proactor.ConnInfo {
		t.Helper()
		ci := find(id)
		for deadline := time.Now().Add(testTimeout); !ok(ci); ci = find(id) {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d never got there: %+v", id, ci)
			}
			time.Sleep(time.Millisecond)
		}
		return ci
	}

	// An echoed connection: open, reading, idle, its bytes counted.
	c1 := dial(t, b, addr)
	s1 := wait(t, r.opened, "OnOpen")
	expectEcho(t, c1, []byte("hello"))
	expectEcho(t, c1, []byte("world"))
	ci := until(s1.ID(), func(ci proactor.ConnInfo) bool { return ci.Output == "idle" })
	if b.Unix {
		if ci.Peer.IsValid() || ci.Local.IsValid() {
			t.Fatalf("peer %v local %v over a unix socket; want neither", ci.Peer, ci.Local)
		}
	} else if want := netip.MustParseAddrPort(c1.LocalAddr().String()); ci.Peer != want || ci.Local.String() != addr {
		t.Fatalf("peer %v local %v; want %v and %s", ci.Peer, ci.Local, want, addr)
	}
	if ci.State != "open" || ci.Input != "reading" || ci.Output != "idle" || ci.Queued != 0 {
		t.Fatalf("an idle echo connection: %+v", ci)
	}
	// The age runs from the loop's clock as it stood when the connection
	// opened, stamped when its poller last woke: early by as long as the
	// loop took to get to it (a second allows for a loaded machine).
	if ci.Loop < 0 || ci.Loop >= 2 || ci.Age <= 0 || ci.Age > time.Since(start)+time.Second ||
		ci.Opened.Before(start.Add(-time.Second)) || ci.Opened.After(time.Now()) {
		t.Fatalf("loop %d, age %v, opened %v (test started %v)", ci.Loop, ci.Age, ci.Opened, start)
	}
	if b.TLS == nil && (ci.BytesRead != 10 || ci.BytesWritten != 10) {
		t.Fatalf("read %d written %d; want 10 and 10", ci.BytesRead, ci.BytesWritten)
	}
	if b.TLS != nil && (ci.BytesRead <= 10 || ci.BytesWritten <= 5) { // records, handshake included
		t.Fatalf("read %d written %d over TLS; want more than 10 and 5", ci.BytesRead, ci.BytesWritten)
	}
	s1.PauseRead()
	if ci = find(s1.ID()); ci.Input != "paused" {
		t.Fatalf("after PauseRead: input %q", ci.Input)
	}
	s1.ResumeRead()

	// A peer that closed its side: input "eof"; the listing holds both,
	// in the order of their IDs.
	c2 := dial(t, b, addr)
	s2 := wait(t, r.opened, "OnOpen")
	if err := c2.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	wait(t, peerClosed, "OnPeerClosed")
	// Over TLS on std the server's last handshake records may still be
	// counted as writing when the peer's FIN comes.
	if ci = until(s2.ID(), func(ci proactor.ConnInfo) bool { return ci.Output == "idle" }); ci.State != "open" || ci.Input != "eof" {
		t.Fatalf("after the peer's FIN: %+v", ci)
	}
	if all := srv.Conns(); len(all) != 2 || all[0].ID != s1.ID() || all[1].ID != s2.ID() {
		t.Fatalf("Conns = %+v; want connections %d and %d", all, s1.ID(), s2.ID())
	}
	// Closing: our FIN is out, and the peer's has come, so it closes.
	s2.Close()
	r.waitClose(t)

	// A peer that does not read: the write waits for the socket, queued
	// output stops the reading.
	c3 := dial(t, b, addr)
	c3.SetReadBuffer(4096)
	s3 := wait(t, r.opened, "OnOpen")
	if _, err := s3.Write(make([]byte, 16<<20)); err != nil {
		t.Fatal(err)
	}
	// Conns asks the loop after the service the Write queued. One write
	// operation takes at most 1 MiB of chunks, so between two the rest
	// is queued; then one waits for the socket.
	if ci = find(s3.ID()); ci.Output != "writing" && ci.Output != "queued" || ci.Input != "backpressure" || ci.Queued <= 0 {
		t.Fatalf("16 MiB to a peer that does not read: %+v", ci)
	}
	// Once the socket is full the rest waits in a pending write, for good.
	until(s3.ID(), func(ci proactor.ConnInfo) bool { return ci.Output == "writing" })
	s3.Abort()
	r.waitClose(t)

	c1.Close()
	wait(t, peerClosed, "OnPeerClosed")
	s1.Close()
	r.waitClose(t)
	if all := srv.Conns(); len(all) != 0 {
		t.Fatalf("Conns = %+v once every connection closed", all)
	}
}

// testHistograms: one OnData call in 64 on a loop is timed (loop lag and
// callback duration), and every connection's lifetime is counted when it
// closes, before OnClose.
func testHistograms(t *testing.T, b Backend) {
	r := newRecorder(t)
	srv, addr := serve(t, b, r, proactor.WithLoops(1))
	start := time.Now()
	c := dial(t, b, addr)
	wait(t, r.opened, "OnOpen")
	for i := range 130 { // one read, one OnData each: the reply comes before the next
		expectEcho(t, c, []byte{byte(i)})
	}
	hs := srv.Histograms()
	if hs.LoopLag.Count != 2 || hs.Callback.Count != 2 {
		t.Fatalf("130 OnData calls: %d loop lags and %d callbacks timed; want 2 each", hs.LoopLag.Count, hs.Callback.Count)
	}
	elapsed := time.Since(start)
	for _, h := range []proactor.Histogram{hs.LoopLag, hs.Callback} {
		if h.Sum < 0 || h.Sum > elapsed {
			t.Fatalf("sum %v over %v", h.Sum, elapsed)
		}
	}
	if hs.ConnLifetime.Count != 0 {
		t.Fatalf("a lifetime before any close: %+v", hs.ConnLifetime)
	}
	c.Close()
	r.waitClose(t)
	l := srv.Histograms().ConnLifetime
	if l.Count != 1 || l.Sum <= 0 || l.Sum > time.Since(start) {
		t.Fatalf("one connection closed after %v: %+v", time.Since(start), l)
	}
	// Its one observation lies in the bucket its sum belongs to.
	for i, n := range l.Counts {
		in := (i == len(l.Bounds) || l.Sum <= l.Bounds[i]) && (i == 0 || l.Sum > l.Bounds[i-1])
		if in != (n == 1) {
			t.Fatalf("lifetime %v counted in the wrong bucket: %+v", l.Sum, l)
		}
	}
}
