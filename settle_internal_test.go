package proactor

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// settleRacer echoes with watermarks so low that the echo passes the high
// one, so the write settle makes of it owes an OnWritable, which runs
// inside settle once the service due after the read has been ended there.
// OnWritable then queues a service (a Write, which finds scheduled false)
// and makes the connection unsteady (PauseRead), so that the service is
// owed after all; a Do queued first looks at scheduled while that queued
// service still waits behind it.
type settleRacer struct {
	BaseHandler
	scheduled chan bool
}

func (h *settleRacer) OnData(c *Conn, p []byte) { c.Write(p) }

func (h *settleRacer) OnWritable(c *Conn) {
	c.Do(func(c *Conn) {
		c.mu.Lock()
		s := c.scheduled
		c.mu.Unlock()
		h.scheduled <- s
	})
	c.Write([]byte("x"))
	c.PauseRead()
}

// TestSettleKeepsScheduled: while a service is queued for a connection,
// its scheduled stays set (connpool.go: a pending service keeps a pooled
// Conn out of the pool; a Write finding it false queues another). A settle
// that ended the read's service and then found it owed after all must not
// have the read run one more, which cleared scheduled with the Write's
// service still queued.
func TestSettleKeepsScheduled(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			h := &settleRacer{scheduled: make(chan bool, 4)}
			_, addr := serveEngine(t, engine, h, WithWriteWatermarks(2, 1))
			nc := dialN(t, addr, 1)[0]
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := nc.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			if !recv(t, h.scheduled) {
				t.Fatal("scheduled is false while a Write's service is queued")
			}
			got := make([]byte, 6)
			if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, []byte("hellox")) {
				t.Fatalf("client read %q, %v; want \"hellox\"", got, err)
			}
		})
	}
}
