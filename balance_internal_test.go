package proactor

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// opens reports every connection opened and every one closed.
type opens struct {
	BaseHandler
	opened, closed chan *Conn
}

func newOpens() *opens {
	return &opens{opened: make(chan *Conn, 64), closed: make(chan *Conn, 64)}
}

func (h *opens) OnOpen(c *Conn)           { h.opened <- c }
func (h *opens) OnClose(c *Conn, _ error) { h.closed <- c }

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func dialN(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// leastConnsServer serves h with two loops and LeastConnections, closed
// when the test ends.
func leastConnsServer(t *testing.T, engine string, h Handler) (*Server, net.Addr) {
	t.Helper()
	srv, err := NewServer(h, WithEngineName(engine), WithLoops(2), WithLoadBalance(LeastConnections))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, a
}

// TestLeastConnections: once the connections of one loop have closed, the
// next ones go to that loop, where round-robin would alternate.
func TestLeastConnections(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			h := newOpens()
			_, a := leastConnsServer(t, engine, h)
			// One at a time, so that each pick sees the last one counted.
			perLoop := map[int][]net.Conn{} // the client's ends
			for range 4 {
				cc := dialN(t, a.String(), 1)[0]
				c := recv(t, h.opened)
				if c.RemoteAddr().String() != cc.LocalAddr().String() {
					t.Fatalf("opened %v, dialed from %v", c.RemoteAddr(), cc.LocalAddr())
				}
				perLoop[c.loop.idx] = append(perLoop[c.loop.idx], cc)
			}
			if len(perLoop[0]) != 2 || len(perLoop[1]) != 2 {
				t.Fatalf("4 connections spread %d/%d over two loops", len(perLoop[0]), len(perLoop[1]))
			}
			// The client closes: the server's side follows at once.
			for _, cc := range perLoop[0] {
				cc.Close()
				recv(t, h.closed)
			}
			for range 2 {
				dialN(t, a.String(), 1)
				if c := recv(t, h.opened); c.loop.idx != 0 {
					t.Fatalf("a new connection went to loop %d, which holds 2, not the empty loop 0", c.loop.idx)
				}
			}
		})
	}
}

// reusePortServer serves h with two loops on a reuse-port listener, closed
// when the test ends; it skips where the OS has no load-spreading
// SO_REUSEPORT.
func reusePortServer(t *testing.T, engine string, h Handler) (*Server, net.Addr) {
	t.Helper()
	srv, err := NewServer(h, WithEngineName(engine), WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0", WithReusePort(true))
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no load-spreading SO_REUSEPORT on this OS")
	}
	if err != nil {
		t.Fatal(err)
	}
	return srv, a
}

// TestReusePortLoops: with WithReusePort each loop accepts on a socket of
// its own (and keeps what it accepts: dispatch does not hand over), and the
// kernel spreads connections over both.
func TestReusePortLoops(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			h := newOpens()
			srv, a := reusePortServer(t, engine, h)
			srv.mu.Lock()
			lns := append([]*listener(nil), srv.listeners...)
			srv.mu.Unlock()
			if len(lns) != 2 || lns[0].loop == lns[1].loop {
				t.Fatalf("%d listeners, want one on each of 2 loops", len(lns))
			}
			if addrs := srv.Addrs(); len(addrs) != 1 || addrs[0].String() != a.String() {
				t.Fatalf("Addrs %v, want %s once", addrs, a)
			}
			dialN(t, a.String(), 32)
			counts := [2]int{}
			for range 32 {
				counts[recv(t, h.opened).loop.idx]++
			}
			// Odds of all 32 hashing to one socket: 2^-31.
			if counts[0] == 0 || counts[1] == 0 {
				t.Fatalf("connections per loop %v: the kernel used one socket", counts)
			}
		})
	}
}

// TestLeastConnectionsBurst: connections handed to a loop and not yet
// opened count for it, so a burst does not all go to a loop that is slow
// to open them.
func TestLeastConnectionsBurst(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			h := newOpens()
			srv, a := leastConnsServer(t, engine, h)
			srv.mu.Lock()
			accepting := srv.listeners[0].loop
			srv.mu.Unlock()
			other := srv.eng.loops[1-accepting.idx]
			// Hold the other loop: what it is handed waits in its queue.
			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			unhold := func() { once.Do(func() { close(release) }) }
			defer unhold() // before srv.Close, which waits for the loop
			go other.call(func() { close(held); <-release })
			<-held
			dialN(t, a.String(), 10)
			// The accepting loop opens its share at once; the rest is
			// queued for the held loop.
			for range 5 {
				if c := recv(t, h.opened); c.loop != accepting {
					t.Fatal("the held loop opened a connection")
				}
			}
			unhold()
			counts := map[*loop]int{accepting: 5}
			for range 5 {
				counts[recv(t, h.opened).loop]++
			}
			if counts[accepting] != 5 || counts[other] != 5 {
				t.Fatalf("10 connections spread %d/%d; want 5/5", counts[accepting], counts[other])
			}
		})
	}
}

// TestReusePortKeeps: a reuse-port socket's loop opens what it accepts:
// with one loop's socket closed, every connection opens on the other loop.
// Dispatch is the same code on every engine, so one engine runs it: not
// uring, which closes a listening socket only once its accept is
// cancelled, resetting connections the kernel hashed to it meanwhile.
func TestReusePortKeeps(t *testing.T) {
	for _, engine := range Engines()[:1] { // epoll on Linux
		t.Run(engine, func(t *testing.T) {
			h := newOpens()
			srv, a := reusePortServer(t, engine, h)
			srv.mu.Lock()
			off, on := srv.listeners[1], srv.listeners[0]
			srv.mu.Unlock()
			// Out of the group: the kernel sends everything to the other.
			if err := off.loop.call(off.unlisten); err != nil {
				t.Fatal(err)
			}
			dialN(t, a.String(), 8)
			for range 8 {
				if c := recv(t, h.opened); c.loop != on.loop {
					t.Fatalf("a connection accepted on loop %d opened on loop %d", on.loop.idx, c.loop.idx)
				}
			}
			if _, err := srv.Listen(a.String(), WithReusePort(true)); !errors.Is(err, ErrReusePort) {
				t.Fatalf("a second reuse-port Listen on %s: %v; want ErrReusePort", a, err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Serve(ln, WithReusePort(true)); !errors.Is(err, ErrReusePort) {
				t.Fatalf("Serve with WithReusePort: %v; want ErrReusePort", err)
			}
		})
	}
}
