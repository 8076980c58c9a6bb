package proactor

import (
	"bytes"
	"os"
	"testing"
)

// recvInboxHandler starts a ReceiveFile in its fifth OnData.
type recvInboxHandler struct {
	*inboxHandler
	calls int
	start func(c *Conn)
}

func (h *recvInboxHandler) OnData(c *Conn, p []byte) {
	h.inboxHandler.OnData(c, p)
	if h.calls++; h.calls == 5 {
		h.start(c)
	}
}

// TestInboxReceiveFileInOrder: a ReceiveFile started by an OnData of input
// the read budget held takes the rest of that held input first, and only
// then what later reads bring, even when a read comes before the
// iteration that delivers the rest of the held input.
func TestInboxReceiveFileInOrder(t *testing.T) {
	l := newInboxLoop(t)
	c := l.conn(t)
	const read = 16 << 10
	flood := stream(11 * read)
	f, err := os.CreateTemp(t.TempDir(), "recv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gotN int64 = -1
	var gotErr error
	h := &recvInboxHandler{inboxHandler: l.h}
	h.start = func(c *Conn) {
		if err := c.ReceiveFile(f, 3*read, func(n int64, err error) { gotN, gotErr = n, err }); err != nil {
			t.Error(err)
		}
	}
	l.srv.handler, l.srv.cfg.handler = h, h
	l.iterate(func() {
		for i := 0; i < 10*read; i += read {
			l.Read(c.tok, flood[i:i+read], nil)
		}
	})
	l.iterate(nil) // the budget's worth of held input, whose OnData starts the receive
	if h.calls != 5 {
		t.Fatalf("%d OnData calls, want 5", h.calls)
	}
	l.iterate(func() { l.Read(c.tok, flood[10*read:], nil) })
	for range 4 {
		l.iterate(nil)
	}
	if gotN != 3*read || gotErr != nil {
		t.Fatalf("done(%d, %v); want (%d, nil)", gotN, gotErr, 3*read)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, flood[8*read:]) {
		t.Fatal("the file holds the stream's bytes out of order: a later read went before the held input")
	}
}
