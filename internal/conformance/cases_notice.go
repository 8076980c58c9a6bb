package conformance

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/seed487d475b/proactor"
)

// notifier is a recorder that is also a WrittenHandler: OnWritten is
// checked for order against the other callbacks like them, and its calls
// are recorded.
type notifier struct {
	*recorder
	onWritten func(c *proactor.Conn, mark uint64, err error)

	mu      sync.Mutex
	written []writtenEvent
	events  chan writtenEvent
}

type writtenEvent struct {
	mark     uint64
	err      error
	buffered int // c.Buffered() when OnWritten ran
}

func newNotifier(t *testing.T) *notifier {
	return &notifier{recorder: newRecorder(t), events: make(chan writtenEvent, 4096)}
}

func (n *notifier) OnWritten(c *proactor.Conn, mark uint64, err error) {
	rec := n.enter(c, "OnWritten")
	defer n.leave(rec)
	ev := writtenEvent{mark: mark, err: err, buffered: c.Buffered()}
	n.mu.Lock()
	n.written = append(n.written, ev)
	n.mu.Unlock()
	if n.onWritten != nil {
		n.onWritten(c, mark, err)
	}
	n.events <- ev
}

// reported returns the OnWritten calls so far.
func (n *notifier) reported() []writtenEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]writtenEvent(nil), n.written...)
}

// testMarks: marks behind 4 MiB queued well past the high watermark (and
// under the write cap), to a client that reads slowly, are reported in order, each once every byte
// before it has left the queue (over TLS: its records), and all before
// OnClose.
func testMarks(t *testing.T, b Backend) {
	const pieces, size = 64, 64 << 10
	payload := pattern(pieces*size, 9)
	n := newNotifier(t)
	var after []int // bytes queued after each mark, by mark
	n.onOpen = func(c *proactor.Conn) {
		// Nothing is written before OnOpen returns, so what is queued
		// after mark k is what Buffered grows by from then on.
		var at []int
		for i := range pieces {
			if _, err := c.Write(payload[i*size : (i+1)*size]); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
			m, err := c.Mark()
			if err != nil || m != uint64(i+1) {
				t.Errorf("Mark = %d, %v; want %d", m, err, i+1)
				return
			}
			at = append(at, c.Buffered())
		}
		end := c.Buffered()
		for _, a := range at {
			after = append(after, end-a)
		}
		c.Close()
	}
	// Past the high watermark, under the write cap: marks hold no bytes.
	_, addr := serve(t, b, n, proactor.WithWriteWatermarks(256<<10, 64<<10), proactor.WithMaxWriteQueue(6<<20))
	c := dial(t, b, addr)
	c.SetReadBuffer(32 << 10)
	got, err := readAll(c)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, %v; want %d and EOF", len(got), err, len(payload))
	}
	c.Close() // the server's lingering close waits for this FIN
	if ev := n.waitClose(t); ev.err != nil {
		t.Fatalf("%v", ev)
	}
	evs := n.reported()
	if len(evs) != pieces {
		t.Fatalf("%d marks reported, want %d", len(evs), pieces)
	}
	for i, ev := range evs {
		if ev.mark != uint64(i+1) || ev.err != nil {
			t.Fatalf("report %d: mark %d, %v; want mark %d, nil", i, ev.mark, ev.err, i+1)
		}
		if ev.buffered > after[i] {
			t.Fatalf("mark %d reported with %d bytes still queued; only %d were queued after it", ev.mark, ev.buffered, after[i])
		}
	}
}

// testMarkIdle: a mark on an empty queue is reported at once; Mark works
// after Close and fails once the connection is gone, and without a
// WrittenHandler.
func testMarkIdle(t *testing.T, b Backend) {
	n := newNotifier(t)
	n.onData = func(c *proactor.Conn, p []byte) {
		switch string(p) {
		case "mark":
			if _, err := c.Mark(); err != nil {
				t.Errorf("Mark: %v", err)
			}
		case "bye":
			c.Write([]byte("bye"))
			c.Close()
			if m, err := c.Mark(); err != nil || m != 2 {
				t.Errorf("Mark after Close = %d, %v; want 2, nil", m, err)
			}
		}
	}
	n.onWritten = func(c *proactor.Conn, mark uint64, err error) {
		if mark == 1 {
			c.Write([]byte("written"))
		}
	}
	_, addr := serve(t, b, n)
	c := dial(t, b, addr)
	c.Write([]byte("mark"))
	readExactly(t, c, []byte("written"))
	c.Write([]byte("bye"))
	readExactly(t, c, []byte("bye"))
	c.Close()
	ev := n.waitClose(t)
	if ev.err != nil {
		t.Fatalf("%v", ev)
	}
	if evs := n.reported(); len(evs) != 2 || evs[1].mark != 2 || evs[1].err != nil {
		t.Fatalf("reports %+v; want marks 1 and 2 with nil errors", evs)
	}
	if _, err := ev.c.Mark(); !errors.Is(err, proactor.ErrClosed) {
		t.Fatalf("Mark on a closed connection: %v; want ErrClosed", err)
	}

	// A handler that is not a WrittenHandler would never hear of a mark.
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) {
		if _, err := c.Mark(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Mark without a WrittenHandler: %v; want ErrUnsupported", err)
		}
		c.Close()
	}
	_, addr = serve(t, b, r)
	dial(t, b, addr).Close()
	r.waitClose(t)
}

// testMarkAbort: marks still waiting when the connection is aborted are
// reported with ErrAborted, in order, before OnClose.
func testMarkAbort(t *testing.T, b Backend) {
	payload := pattern(16<<20, 2)
	n := newNotifier(t)
	n.onOpen = func(c *proactor.Conn) {
		c.Write(payload)
		c.Mark()
		c.Write([]byte("more"))
		c.Mark()
	}
	n.onData = func(c *proactor.Conn, _ []byte) { c.Abort() }
	// Reading goes on past the high watermark, so the request to abort
	// is read while the output waits.
	_, addr := serve(t, b, n, proactor.WithReadPause(false))
	c := dial(t, b, addr)
	c.SetReadBuffer(16 << 10)
	wait(t, n.opened, "OnOpen")
	c.Write([]byte("abort")) // unread output: the marks cannot have been reached
	ev := n.waitClose(t)
	if !errors.Is(ev.err, proactor.ErrAborted) {
		t.Fatalf("%v; want ErrAborted", ev)
	}
	evs := n.reported()
	if len(evs) != 2 {
		t.Fatalf("reports %+v; want 2", evs)
	}
	for i, e := range evs {
		if e.mark != uint64(i+1) || !errors.Is(e.err, proactor.ErrAborted) {
			t.Fatalf("report %d: %+v; want mark %d with ErrAborted", i, e, i+1)
		}
	}
}

// testSendFileNotice: a Mark behind a SendFile reports the file sent, or,
// when sending it fails (a file shorter than asked), the error that closes
// the connection, as OnClose gets it. Over TLS the file is read when
// SendFile is called, which then returns that error itself.
func testSendFileNotice(t *testing.T, b Backend) {
	const size = 1 << 20
	content := pattern(size, 4)
	path := t.TempDir() + "/data"
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 2)
	n := newNotifier(t)
	n.onData = func(c *proactor.Conn, p []byte) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		want := size
		if string(p) == "short" {
			want = size + 4096 // past the end: sending fails
		}
		err = c.SendFile(f, 0, want)
		sendErr <- err
		if err == nil {
			c.Mark()
		}
	}
	n.onWritten = func(c *proactor.Conn, _ uint64, err error) {
		if err == nil && c.Buffered() != 0 {
			t.Errorf("file reported sent with %d bytes queued", c.Buffered())
		}
	}
	_, addr := serve(t, b, n)
	c := dial(t, b, addr)
	c.Write([]byte("whole"))
	readExactly(t, c, content)
	if err := wait(t, sendErr, "SendFile"); err != nil {
		t.Fatalf("SendFile: %v", err)
	}
	if ev := wait(t, n.events, "OnWritten"); ev.mark != 1 || ev.err != nil {
		t.Fatalf("OnWritten %+v; want mark 1, nil", ev)
	}

	c.Write([]byte("short"))
	err := wait(t, sendErr, "SendFile")
	if b.TLS != nil {
		if err == nil {
			t.Fatal("SendFile over TLS of a short file succeeded")
		}
		return
	}
	if err != nil {
		t.Fatalf("SendFile: %v", err)
	}
	io.Copy(io.Discard, c)
	ev := n.waitClose(t)
	if !errors.Is(ev.err, io.ErrUnexpectedEOF) {
		t.Fatalf("%v; want io.ErrUnexpectedEOF", ev)
	}
	evs := n.reported()
	if len(evs) != 2 || evs[1].mark != 2 || !errors.Is(evs[1].err, io.ErrUnexpectedEOF) {
		t.Fatalf("reports %+v; want mark 2 with the close's error", evs)
	}
}
