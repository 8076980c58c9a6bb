package proactor

import (
	"net"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/internal/driver"
	"github.com/seed487d475b/proactor/internal/driver/drivertest"
)

// TestAcceptBatchPerPoll: with AcceptBatch 2, no Poll of any engine
// delivers more than 2 connections of a burst of 7 waiting in the
// backlog, and all 7 come. Without the bound epoll and io_uring take the
// whole burst in one Poll.
func TestAcceptBatchPerPoll(t *testing.T) {
	const batch, burst = 2, 7
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			d, err := newDriver(name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.NewPoller(driver.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Release()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			lt := driver.MakeToken(0, 1)
			if err := p.Listen(lt, ln, driver.SockOptions{AcceptBatch: batch}); err != nil {
				t.Fatal(err)
			}
			defer p.Unlisten(lt)
			for range burst {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			s := drivertest.NewSink()
			var most, polls int
			deadline := time.Now().Add(10 * time.Second)
			for len(s.Accepts) < burst {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d accepted", len(s.Accepts), burst)
				}
				before := len(s.Accepts)
				if err := p.Poll(100*time.Millisecond, s); err != nil {
					t.Fatal(err)
				}
				if n := len(s.Accepts) - before; n > 0 {
					most = max(most, n)
					polls++
				}
			}
			for _, so := range s.Accepts {
				p.Discard(so)
			}
			if most > batch {
				t.Fatalf("one Poll delivered %d connections; the batch is %d", most, batch)
			}
			if name != "std" && most != batch {
				// The whole burst waits in the backlog: each readiness
				// brings a full batch.
				t.Fatalf("the fullest Poll delivered %d connections, want %d", most, batch)
			}
			t.Logf("%d connections in %d polls, at most %d in one", burst, polls, most)
		})
	}
}
