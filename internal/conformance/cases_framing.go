package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// framerCase is a framer and an encoder whose frames, echoed whole, give the
// client back the stream it sent.
type framerCase struct {
	name   string
	framer codec.Framer
	enc    codec.Encoder
}

func framerCases() []framerCase {
	lp := codec.LengthPrefixed{HeaderSize: 2}
	dl := codec.Delimited{KeepDelimiter: true}
	fx := codec.Fixed{Size: 7}
	return []framerCase{{"LengthPrefixed", lp, lp}, {"Delimited", dl, dl}, {"Fixed", fx, fx}}
}

// encodeFrames returns the stream of payloads encoded with enc, and where
// each frame ends in it.
func encodeFrames(t *testing.T, enc codec.Encoder, payloads [][]byte) ([]byte, []int) {
	t.Helper()
	var stream []byte
	var ends []int
	for _, p := range payloads {
		var err error
		if stream, err = enc.Append(stream, p); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(stream))
	}
	return stream, ends
}

// testFramedSplits sends a stream of frames split at every byte boundary: the
// first part, then (once the frames it completes are echoed, so the server
// has surely read it apart) the rest. Every frame must come back whole and in
// order, one OnData per frame.
func testFramedSplits(t *testing.T, b Backend) {
	for _, fc := range framerCases() {
		t.Run(fc.name, func(t *testing.T) {
			var payloads [][]byte
			for i, n := range []int{7, 0, 7, 1, 7, 300, 7} {
				if fc.name == "Fixed" {
					n = 7
				}
				if fc.name == "Delimited" {
					payloads = append(payloads, bytes.Repeat([]byte{'a' + byte(i)}, n))
					continue
				}
				payloads = append(payloads, pattern(n, byte(i)))
			}
			stream, ends := encodeFrames(t, fc.enc, payloads)
			var frames atomic.Int64
			r := newRecorder(t)
			r.onData = func(c *proactor.Conn, p []byte) {
				frames.Add(1)
				c.Write(p)
			}
			_, addr := serve(t, b, r, proactor.WithFramer(fc.framer))
			c := dial(t, b, addr)
			for split := 1; split < len(stream); split++ {
				done := 0 // bytes of whole frames in stream[:split]
				for _, e := range ends {
					if e <= split {
						done = e
					}
				}
				c.Write(stream[:split])
				readExactly(t, c, stream[:done])
				c.Write(stream[split:])
				readExactly(t, c, stream[done:])
			}
			if want := len(payloads) * (len(stream) - 1); frames.Load() != int64(want) {
				t.Fatalf("OnData ran %d times; want one per frame, %d", frames.Load(), want)
			}
		})
	}
}

func readExactly(t *testing.T, c io.Reader, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if err == nil && bytes.Equal(got, want) {
		return
	}
	at := 0
	for at < n && got[at] == want[at] {
		at++
	}
	if len(want) <= 64 {
		t.Fatalf("got %q, %v; want %q", got[:n], err, want)
	}
	t.Fatalf("got %d of %d bytes (%v), first difference at %d: %q; want %q",
		n, len(want), err, at, got[at:min(at+16, n)], want[at:min(at+16, len(want))])
}

// testFrameErrors: an oversize or malformed frame closes its connection with
// the framing error; other connections go on.
func testFrameErrors(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name   string
		framer codec.Framer
		send   []byte
		want   error
	}{
		{"TooLarge", codec.LengthPrefixed{HeaderSize: 2, MaxFrame: 100}, []byte{0, 200, 1, 2}, proactor.ErrFrameTooLarge},
		{"LineTooLong", codec.Delimited{MaxFrame: 16, KeepDelimiter: true}, bytes.Repeat([]byte("x"), 40), proactor.ErrFrameTooLarge},
		{"BadHeader", codec.LengthPrefixed{HeaderSize: 1, IncludesHeader: true}, []byte{0, 1, 2}, proactor.ErrBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(t)
			srv, addr := serve(t, b, r, proactor.WithFramer(tc.framer))
			good := dial(t, b, addr)
			enc := tc.framer.(codec.Encoder)
			ok, _ := enc.Append(nil, []byte("ok"))
			expectEcho(t, good, ok)
			bad := dial(t, b, addr)
			bad.Write(tc.send)
			if ev := r.waitClose(t); !errors.Is(ev.err, tc.want) {
				t.Fatalf("%v; want %v", ev, tc.want)
			}
			expectEcho(t, good, ok)
			if st := srv.Stats(); st.FrameErrors != 1 {
				t.Fatalf("FrameErrors = %d", st.FrameErrors)
			}
		})
	}
}

// testLargeFrame: a frame far larger than a read is gathered and delivered
// whole, and the read timeout does not fire while it streams in.
func testLargeFrame(t *testing.T, b Backend) {
	f := codec.LengthPrefixed{HeaderSize: 4, MaxFrame: 16 << 20}
	sizes := []int{3 << 20, 10, 1 << 20}
	var got []int
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		got = append(got, len(p)-4)
		c.Write([]byte(fmt.Sprintf("%d\n", len(p)-4)))
	}
	_, addr := serve(t, b, r, proactor.WithFramer(f), proactor.WithReadTimeout(5*time.Second))
	c := dial(t, b, addr)
	for i, n := range sizes {
		frame, _ := f.Append(nil, pattern(n, byte(i)))
		c.Write(frame)
		readExactly(t, c, []byte(fmt.Sprintf("%d\n", n)))
	}
	c.Close()
	r.waitClose(t)
	if fmt.Sprint(got) != fmt.Sprint(sizes) {
		t.Fatalf("frames %v; want %v", got, sizes)
	}
}

// testFramedReadTimeout: with a framer, the read timeout bounds a frame left
// unfinished, and whole frames spaced by idle time never trip it.
func testFramedReadTimeout(t *testing.T, b Backend) {
	const limit = 200 * time.Millisecond
	f := codec.Delimited{KeepDelimiter: true}
	r := newRecorder(t)
	_, addr := serve(t, b, r, proactor.WithFramer(f), proactor.WithReadTimeout(limit))
	patient := dial(t, b, addr)
	expectEcho(t, patient, []byte("one\r\n"))
	time.Sleep(2 * limit) // idle between whole frames is fine
	expectEcho(t, patient, []byte("two\r\n"))
	dial(t, b, addr).Write([]byte("never ends"))
	expectTimeout(t, r.waitClose(t), proactor.ReadTimeout)
	expectEcho(t, patient, []byte("three\r\n"))
}

// testFramedPause: PauseRead in the middle of a read holds the frames after
// it until ResumeRead.
func testFramedPause(t *testing.T, b Backend) {
	f := codec.Delimited{KeepDelimiter: true}
	var paused atomic.Pointer[proactor.Conn]
	resumed := make(chan struct{})
	r := newRecorder(t)
	r.onData = func(c *proactor.Conn, p []byte) {
		if string(p) == "pause\r\n" {
			paused.Store(c)
			c.PauseRead()
			go func() { <-resumed; c.ResumeRead() }()
		}
		c.Write(p)
	}
	_, addr := serve(t, b, r, proactor.WithFramer(f))
	c := dial(t, b, addr)
	c.Write([]byte("pause\r\nsecond\r\nthird\r\n"))
	readExactly(t, c, []byte("pause\r\n"))
	time.Sleep(50 * time.Millisecond) // a negative: a broken pause would deliver now
	if got := string(r.received(paused.Load())); got != "pause\r\n" {
		t.Fatalf("received while paused: %q", got)
	}
	close(resumed)
	readExactly(t, c, []byte("second\r\nthird\r\n"))
}
