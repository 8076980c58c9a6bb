package conformance

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// testRegistryChurn uses the registry from many goroutines while
// connections come and go: lookups, ranges, broadcasts and close-alls must
// stay consistent (and race-free) throughout. Over TLS, CloseAll also
// reaches connections still in their handshake, which end without OnOpen
// or OnClose: the closes expected are the connections opened.
func testRegistryChurn(t *testing.T, b Backend) {
	const clients, rounds = 8, 25
	r := newRecorder(t)
	r.onData = func(*proactor.Conn, []byte) {}
	srv, addr := serve(t, b, r, proactor.WithLoops(2))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 4 { // registry users
		wg.Go(func() {
			for !stop.Load() {
				switch g {
				case 0:
					srv.Range(func(c *proactor.Conn) bool {
						if got, ok := srv.Conn(c.ID()); ok {
							if got != c {
								t.Errorf("Conn(%d) returned another connection", c.ID())
							}
							got.Release()
						}
						return true
					})
				case 1:
					if n := srv.Broadcast([]byte("x")); n < 0 || n > clients*rounds {
						t.Errorf("Broadcast reached %d", n)
					}
				case 2:
					if n := srv.ConnCount(); n < 0 || n > clients*rounds {
						t.Errorf("ConnCount = %d", n)
					}
					srv.Stats()
				case 3:
					srv.CloseAll()
				}
			}
		})
	}
	var churn sync.WaitGroup
	for range clients { // connections coming and going
		churn.Go(func() {
			for range rounds {
				c := dialLazy(t, b, addr)
				c.Write([]byte("hello")) // fails if a CloseAll came first
				c.Close()
			}
		})
	}
	churn.Wait()
	stop.Store(true)
	wg.Wait()
	closes := clients * rounds
	if b.TLS != nil {
		closes = tlsChurnOpened(t, srv)
	}
	for range closes {
		r.waitClose(t)
	}
	if n := srv.ConnCount(); n != 0 {
		t.Fatalf("ConnCount = %d once every connection closed", n)
	}
	n := 0
	srv.Range(func(*proactor.Conn) bool { n++; return true })
	if n != 0 {
		t.Fatalf("Range saw %d connections once every connection closed", n)
	}
}

// tlsChurnOpened waits for every connection of the churn to end (the
// client closes each, if CloseAll did not) and returns how many opened.
func tlsChurnOpened(t *testing.T, srv *proactor.Server) int {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for srv.ConnCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ConnCount = %d long after the clients closed", srv.ConnCount())
		}
		time.Sleep(time.Millisecond) // sampling: no event says the last one ended
	}
	return int(srv.Stats().Accepted)
}
