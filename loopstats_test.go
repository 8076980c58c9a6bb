package proactor_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// closeSignal is an echo handler that reports each OnClose, so that a test
// can wait for the closes it caused instead of polling.
type closeSignal struct {
	proactor.BaseHandler
	closed chan struct{}
}

func (closeSignal) OnData(c *proactor.Conn, p []byte) { c.Write(p) }

func (h closeSignal) OnClose(*proactor.Conn, error) { h.closed <- struct{}{} }

// TestLoopStats: on every engine the per-loop figures add up to the
// server's, round-robin puts connections on both loops, and a loop's open
// count falls back to zero when its connections close.
func TestLoopStats(t *testing.T) {
	const conns, msg = 4, "hello, loops"
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			h := closeSignal{closed: make(chan struct{}, conns)}
			srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(2))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var cs []net.Conn
			for range conns {
				c, err := net.Dial("tcp", addr.String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				// The echo back proves the server opened the connection
				// and counted the bytes both ways.
				if _, err := c.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
			}

			ls := srv.LoopStats()
			if len(ls) != 2 {
				t.Fatalf("%d loops' stats, want 2", len(ls))
			}
			var active int
			var read, written uint64
			for i, l := range ls {
				if l.Loop != i {
					t.Errorf("LoopStats()[%d].Loop = %d", i, l.Loop)
				}
				if l.Active == 0 {
					t.Errorf("loop %d has no connection: round-robin should give each two: %+v", i, ls)
				}
				active += l.Active
				read += l.BytesRead
				written += l.BytesWritten
			}
			st := srv.Stats()
			if active != conns || read != conns*uint64(len(msg)) || read != st.BytesRead || written != st.BytesWritten {
				t.Errorf("loops sum to %d open, %d read, %d written; want %d open, %d read (Stats: %d read, %d written)",
					active, read, written, conns, conns*len(msg), st.BytesRead, st.BytesWritten)
			}

			for _, c := range cs {
				c.Close()
			}
			for range conns {
				<-h.closed
			}
			for _, l := range srv.LoopStats() {
				if l.Active != 0 || l.Closed != l.Accepted {
					t.Errorf("after every close, loop %d: %+v", l.Loop, l)
				}
			}
		})
	}
}
