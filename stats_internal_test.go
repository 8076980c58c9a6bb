package proactor

import (
	"fmt"
	"testing"
)

// BenchmarkStats is the cost of one Stats snapshot, which every metrics
// scrape and `ctl stats` takes, with n connections open. Connections are
// registered without sockets: the snapshot's cost is all in the counters
// and the registry.
func BenchmarkStats(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			s := fakeConns(b, n)
			b.ReportAllocs()
			for b.Loop() {
				s.Stats()
			}
		})
	}
}

// fakeConns returns a server whose registry holds n connections without
// sockets; they are unregistered when the test ends.
func fakeConns(tb testing.TB, n int) *Server {
	s, err := NewServer(BaseHandler{}, WithLoops(1))
	if err != nil {
		tb.Fatal(err)
	}
	cs := make([]*Conn, n)
	for i := range cs {
		cs[i] = &Conn{id: uint64(i + 1), cfg: &s.cfg, loop: s.eng.loops[0]}
		s.registry.add(cs[i])
	}
	tb.Cleanup(func() {
		for _, c := range cs {
			s.registry.remove(c)
		}
		s.Close()
	})
	return s
}

// The loops' counts of queued bytes follow a write and a partial write
// (a connection that finishes with bytes queued: conformance QueueFull).
func TestQueuedBytesCounted(t *testing.T) {
	s := fakeConns(t, 0)
	l := s.eng.loops[0]
	c := &Conn{id: 1, cfg: &s.cfg, loop: l}
	check := func(when string, want int64) {
		t.Helper()
		if got := s.Stats().QueuedBytes; got != want || int64(c.Buffered()) != want {
			t.Fatalf("%s: Stats().QueuedBytes = %d, Buffered() = %d; want %d", when, got, c.Buffered(), want)
		}
	}
	c.mu.Lock()
	c.out.write(make([]byte, 3000), &l.chunks)
	c.queuedMore(3000)
	c.mu.Unlock()
	check("after a write", 3000)
	l.call(func() {
		c.mu.Lock()
		c.out.consume(1000, &l.chunks)
		c.mu.Unlock()
		c.stats().queued.Add(-1000)
	})
	check("after a partial write", 2000)
	c.mu.Lock()
	c.out.reset(&l.chunks)
	c.mu.Unlock()
	c.stats().queued.Add(-2000)
}
