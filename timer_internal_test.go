package proactor

import (
	"net"
	"testing"
	"time"
)

// TestTimersLeaveWheel checks, on every engine, that a connection's end
// takes its timers off the wheel at once, however far off they are due: an
// armed entry would keep its loop waking every tick.
func TestTimersLeaveWheel(t *testing.T) {
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			opened := make(chan *Conn, 1)
			closed := make(chan struct{})
			h := &hooks{open: func(c *Conn) {
				for range 100 {
					c.AfterFunc(time.Hour, func(*Conn) {})
					c.Every(time.Minute, func(*Conn) {})
				}
				opened <- c
			}, close: func() { close(closed) }}
			srv, err := NewServer(h, WithEngineName(name), WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			nc, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			c := <-opened
			l := c.loop
			armed := func() (n int) {
				l.call(func() { n = l.wheel.n + l.timers.n })
				return n
			}
			if n := armed(); n != 200 {
				t.Fatalf("%d entries armed, want 200", n)
			}
			stop := c.Every(time.Hour, func(*Conn) {})
			armed() // the Every is armed: the loop has run its task
			stop.Stop()
			if n := armed(); n != 200 {
				t.Fatalf("%d entries armed after Stop, want 200", n)
			}
			nc.Close()
			<-closed
			if n := armed(); n != 0 {
				t.Fatalf("%d entries left on the wheel after the connection closed", n)
			}
		})
	}
}

// hooks is a Handler made of functions, for internal tests.
type hooks struct {
	open  func(c *Conn)
	close func()
}

func (h *hooks) OnOpen(c *Conn)             { h.open(c) }
func (h *hooks) OnData(*Conn, []byte)       {}
func (h *hooks) OnPeerClosed(c *Conn)       { c.Close() }
func (h *hooks) OnClose(c *Conn, err error) { h.close() }
