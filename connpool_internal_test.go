package proactor

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// pooledEcho echoes, and reports every connection opened and closed.
type pooledEcho struct{ opens }

func (h *pooledEcho) OnData(c *Conn, p []byte) { c.Write(p) }

// pooledServer serves a pooledEcho on engine with one loop and a pool.
func pooledServer(t *testing.T, engine string) (*Server, *pooledEcho, string) {
	t.Helper()
	h := &pooledEcho{*newOpens()}
	srv, addr := servePooled(t, engine, h)
	return srv, h, addr
}

// pooledOne is pooledServer with one connection open: the client's side
// and the server's Conn.
func pooledOne(t *testing.T, engine string) (*Server, *pooledEcho, string, net.Conn, *Conn) {
	t.Helper()
	srv, h, addr := pooledServer(t, engine)
	a := dialN(t, addr, 1)[0]
	return srv, h, addr, a, recv(t, h.opened)
}

// servePooled serves h on engine with one loop and a pool.
func servePooled(t *testing.T, engine string, h Handler) (*Server, string) {
	t.Helper()
	return serveEngine(t, engine, h, WithConnPool(4), WithLinger(-1))
}

// serveEngine serves h on engine with one loop and opts, on a free
// loopback port, until the test ends; an engine this machine lacks skips
// the test.
func serveEngine(t *testing.T, engine string, h Handler, opts ...Option) (*Server, string) {
	t.Helper()
	srv, err := NewServer(h, append([]Option{WithEngineName(engine), WithLoops(1)}, opts...)...)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, a.String()
}

// settle waits until the loop has run every task queued before it.
func settle(t *testing.T, srv *Server) {
	t.Helper()
	if err := srv.eng.loops[0].call(func() {}); err != nil {
		t.Fatal(err)
	}
}

// echoes checks that nc is served: a message comes back.
func echoes(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, []byte("ping")) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestConnPoolReuse: an ended Conn serves the next connection, under a new
// ID, unless a pin (Server.Conn, Hold, Range) keeps it; a held Conn whose
// connection has ended answers ErrClosed, and is reused once released.
func TestConnPoolReuse(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr, a, ca := pooledOne(t, engine)
			idA := ca.ID()
			held, ok := srv.Conn(idA)
			if !ok || held != ca {
				t.Fatal("Server.Conn did not find the open connection")
			}
			a.Close()
			recv(t, h.closed)
			if _, err := ca.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Write on a held, ended Conn: %v; want ErrClosed", err)
			}
			if ca.Hold() {
				t.Fatal("Hold of an ended connection reported it open")
			}
			b := dialN(t, addr, 1)[0]
			if cb := recv(t, h.opened); cb == ca {
				t.Fatal("a held Conn was reused")
			}
			echoes(t, b)
			held.Release()
			settle(t, srv) // the release's recycle has run
			c := dialN(t, addr, 1)[0]
			cc := recv(t, h.opened)
			if cc != ca {
				t.Fatal("a released Conn was not reused")
			}
			if cc.ID() == idA {
				t.Fatal("a reused Conn kept its ID")
			}
			echoes(t, c)

			// Range holds each connection while its function runs.
			srv.Range(func(x *Conn) bool {
				if x == cc {
					c.Close()
					recv(t, h.closed)
					d := dialN(t, addr, 1)[0]
					if recv(t, h.opened) == cc {
						t.Error("a Conn was reused while Range held it")
					}
					echoes(t, d)
				}
				return true
			})
		})
	}
}

// TestConnPoolStale: what was queued for a connection whose Conn now serves
// another (an abort, a shutdown, a timer) does not reach the new one.
func TestConnPoolStale(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr, a, ca := pooledOne(t, engine)
			// Read under a pin, as user code must, so that the loop's
			// reuse comes after the reads.
			ca.Hold()
			idA, l := ca.ID(), ca.loop
			ca.Release()
			a.Close()
			recv(t, h.closed)
			b := dialN(t, addr, 1)[0]
			if recv(t, h.opened) != ca {
				t.Fatal("an ended Conn nothing held was not reused")
			}
			fired := make(chan struct{}, 1)
			tm := newTimer(l, 0, false)
			tm.c, tm.cid, tm.fc = ca, idA, func(*Conn) { fired <- struct{}{} }
			tm.start()
			l.push(task{kind: taskAbort, c: ca, id: idA, err: ErrAborted})
			l.push(task{kind: taskShutdown, c: ca, id: idA})
			settle(t, srv)
			if tm.state.Load() != timerStopped {
				t.Fatal("a timer of the connection before was armed for the new one")
			}
			echoes(t, b)
			select {
			case <-fired:
				t.Fatal("a timer of the connection before ran on the new one")
			case <-h.closed:
				t.Fatal("the new connection was closed by a task of the one before")
			default:
			}
		})
	}
}

// releaseRacer is a pooledEcho whose OnClose runs a hook first.
type releaseRacer struct {
	pooledEcho
	onClose func(c *Conn)
}

func (h *releaseRacer) OnClose(c *Conn, err error) {
	if h.onClose != nil {
		h.onClose(c)
	}
	h.pooledEcho.OnClose(c, err)
}

// TestConnPoolReleaseRace: a Release that gives back the last pin while
// the connection's OnClose runs lets finish pool the Conn; the releasing
// goroutine must not read the Conn (its loop and ID, for the recycle task)
// after its decrement, when the loop may already have reused it. Under
// -race this reported a data race with reuse's reset of the Conn.
func TestConnPoolReleaseRace(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			h := &releaseRacer{pooledEcho: pooledEcho{*newOpens()}}
			srv, addr := servePooled(t, engine, h)
			nc := dialN(t, addr, 1)[0]
			defer nc.Close()
			ca := recv(t, h.opened)
			if !ca.Hold() {
				t.Fatal("Hold of an open connection failed")
			}
			release := make(chan struct{})
			released := make(chan struct{})
			go func() {
				<-release
				ca.Release()
				close(released)
			}()
			h.onClose = func(c *Conn) {
				close(release)
				// The last pin is gone once the count is 0: finish then
				// pools c after this OnClose.
				deadline := time.Now().Add(20 * time.Second)
				for c.flags.Load()&pinCount != 0 && time.Now().Before(deadline) {
					runtime.Gosched()
				}
			}
			l := srv.eng.loops[0]
			if err := l.call(func() {
				ca.finish(ErrAborted, true)
				// The next accept, before the loop takes the Release's task.
				if srv.reuse(l) != ca {
					t.Error("the ended, released Conn was not pooled by finish")
				}
			}); err != nil {
				t.Fatal(err)
			}
			recv(t, released)
			settle(t, srv)
		})
	}
}

// TestConnPoolRangePanic: a panic in Range's function, recovered by the
// caller, gives back the pins Range took: the connection's Conn is still
// reused once it ends.
func TestConnPoolRangePanic(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			srv, h, addr, a, ca := pooledOne(t, engine)
			func() {
				defer func() { recover() }()
				srv.Range(func(*Conn) bool { panic("fn fails") })
			}()
			a.Close()
			recv(t, h.closed)
			settle(t, srv)
			b := dialN(t, addr, 1)[0]
			if recv(t, h.opened) != ca {
				t.Fatal("a Conn whose Range function panicked was not reused: Range's pin leaked")
			}
			echoes(t, b)
		})
	}
}
