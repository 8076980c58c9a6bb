package proactor

import (
	"net"
	"sync"
	"testing"
)

// burstHandler echoes, and says when a connection's queue has passed full
// bytes and when the connection has closed.
type burstHandler struct {
	BaseHandler
	full      int
	fullOnce  sync.Once
	filled    chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (h *burstHandler) OnData(c *Conn, data []byte) {
	if _, err := c.Write(data); err != nil {
		c.Abort()
		return
	}
	if c.Buffered() >= h.full {
		h.fullOnce.Do(func() { close(h.filled) })
	}
}

func (h *burstHandler) OnClose(*Conn, error) { h.closeOnce.Do(func() { close(h.closed) }) }

// retained returns the bytes in the engine's free chunks.
func (e *Engine) retained() int {
	n := 0
	for _, p := range []*chunkPool{&e.chunks.small, &e.chunks.big} {
		p.mu.Lock()
		n += len(p.free) * p.size
		p.mu.Unlock()
	}
	return n
}

// TestTrimAfterBurst: a peer that never reads fills its queue, then goes;
// the queue's chunks wait in the engine's pools, and two trims with no
// writes between them give all of them back. (With sync.Pools behind the
// loops' caches, a burst's chunks stayed until two collections, and after
// a burst nothing allocates, so none came for minutes.)
func TestTrimAfterBurst(t *testing.T) {
	const full = 8 << 20
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			h := &burstHandler{full: full, filled: make(chan struct{}), closed: make(chan struct{})}
			srv, err := NewServer(h, WithEngineName(name), WithLoops(1), WithWriteWatermarks(4*full, full))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			peer, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				buf := make([]byte, 256<<10)
				for {
					select {
					case <-h.filled:
						return
					default:
					}
					if _, err := peer.Write(buf); err != nil {
						return
					}
				}
			}()
			<-h.filled
			peer.Close() // unread bytes: a reset, and the server closes
			<-h.closed
			e := srv.eng
			if got := e.retained(); got < full-cachedBig*chunkSize {
				t.Fatalf("the engine's pools hold %d bytes after the burst, want at least %d", got, full-cachedBig*chunkSize)
			}
			e.trim() // what was free since the last trim: none of the burst's chunks
			e.trim() // free since the first: all of them
			if got := e.retained(); got != 0 {
				t.Fatalf("the engine's pools hold %d bytes after two trims, want 0", got)
			}
		})
	}
}
