package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
)

// received is what a ReceiveFile's done reported.
type received struct {
	n    int64
	err  error
	path string
}

// fileSink is a line protocol over a recorder for ReceiveFile:
//
//	PUT n [sync]   receive n bytes into a new file (fsync'd with "sync")
//	PUTRO n        receive n bytes into a file opened read-only: every write fails
//	PIPE n         receive n bytes into the pipe w
//
// each answered "stored n err" by done; any other line is echoed.
type fileSink struct {
	*recorder
	t    *testing.T
	dir  string
	w    *os.File // PIPE's
	done chan received
}

func newFileSink(t *testing.T) *fileSink {
	s := &fileSink{recorder: newRecorder(t), t: t, dir: t.TempDir(), done: make(chan received, 16)}
	s.onData = s.line
	return s
}

func (s *fileSink) line(c *proactor.Conn, p []byte) {
	word, arg, _ := strings.Cut(string(p), " ")
	size, sync, _ := strings.Cut(arg, " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || word != "PUT" && word != "PUTRO" && word != "PIPE" {
		c.Write(append(p, '\n'))
		return
	}
	var f *os.File
	switch word {
	case "PIPE":
		f = s.w
	default:
		f, err = os.CreateTemp(s.dir, "up")
		if err == nil && word == "PUTRO" {
			name := f.Name()
			f.Close()
			f, err = os.Open(name)
		}
		if err != nil {
			s.t.Error(err)
			return
		}
	}
	var opts []proactor.ReceiveOption
	if sync == "sync" {
		opts = append(opts, proactor.ReceiveSync())
	}
	err = c.ReceiveFile(f, n, func(n int64, err error) {
		fmt.Fprintf(c, "stored %d %v\n", n, err)
		if f != s.w {
			f.Close()
		}
		s.done <- received{n, err, f.Name()}
	}, opts...)
	if err != nil {
		s.t.Errorf("ReceiveFile: %v", err)
	}
	if err := c.ReceiveFile(f, 1, func(int64, error) {}); !errors.Is(err, proactor.ErrReceiving) && n > 0 {
		s.t.Errorf("a second ReceiveFile: %v, want ErrReceiving", err)
	}
}

func expectRead(t *testing.T, c io.Reader, want string) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the file holds %d bytes (%v), want the %d sent", len(got), err, len(want))
	}
}

// testReceiveFile: ReceiveFile streams the bytes after a frame into a file,
// exactly its size, the rest going on to the framer; whether the input
// comes in one write or in small pieces that cut the frames anywhere.
func testReceiveFile(t *testing.T, b Backend) {
	var s *fileSink
	var addr string
	start := func(t *testing.T, setup ...func(*fileSink)) {
		s = newFileSink(t)
		for _, f := range setup {
			f(s) // before the server runs: its loops read s
		}
		_, addr = serve(t, b, s, proactor.WithFramer(codec.Delimited{MaxFrame: 64, AcceptLF: true}))
	}
	body := pattern(300_000, 3)
	msg := slices(fmt.Appendf(nil, "PUT %d\n", len(body)), body, []byte("after\n"))
	for _, tc := range []struct {
		name  string
		piece int // 0: one write
	}{{"OneWrite", 0}, {"Pieces", 777}} {
		t.Run(tc.name, func(t *testing.T) {
			start(t)
			c := dial(t, b, addr)
			go func() {
				for p := msg; len(p) > 0; {
					k := len(p)
					if tc.piece > 0 {
						k = min(k, tc.piece)
					}
					if _, err := c.Write(p[:k]); err != nil {
						return
					}
					p = p[k:]
				}
			}()
			expectRead(t, c, fmt.Sprintf("stored %d <nil>\nafter\n", len(body)))
			r := wait(t, s.done, "done")
			checkFile(t, r.path, body)
		})
	}
	t.Run("Sync", func(t *testing.T) {
		start(t)
		c := dial(t, b, addr)
		c.Write(slices([]byte("PUT 1000 sync\n"), body[:1000], []byte("x\n")))
		// done comes after the fsync, so the echo may overtake it.
		got := make([]byte, len("stored 1000 <nil>\nx\n"))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Contains(got, []byte("stored 1000 <nil>\n")) {
			t.Fatalf("read %q (%v)", got, err)
		}
		checkFile(t, wait(t, s.done, "done").path, body[:1000])
	})
	t.Run("WriteError", func(t *testing.T) {
		start(t)
		// The bytes are read and dropped; done reports after the last.
		c := dial(t, b, addr)
		c.Write(slices([]byte("PUTRO 5000\n"), body[:5000], []byte("next\n")))
		r := wait(t, s.done, "done")
		if r.n != 0 || r.err == nil {
			t.Fatalf("done(%d, %v), want a write error", r.n, r.err)
		}
		expectRead(t, c, fmt.Sprintf("stored 0 %v\nnext\n", r.err))
	})
	t.Run("Cancel", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		start(t, func(s *fileSink) { s.w = pw })
		c := dial(t, b, addr)
		c.Write([]byte("PIPE 1000\n0123456789"))
		sc := wait(t, s.opened, "OnOpen")
		expectRead(t, pr, "0123456789") // in the file: the receive is under way
		sc.Do(func(c *proactor.Conn) {
			if !c.CancelReceive() || c.CancelReceive() {
				t.Error("CancelReceive: not exactly one receive in progress")
			}
		})
		if r := wait(t, s.done, "done"); r.n != 10 || !errors.Is(r.err, proactor.ErrReceiveCanceled) {
			t.Fatalf("done(%d, %v), want 10 and ErrReceiveCanceled", r.n, r.err)
		}
		c.Write([]byte("hello\n")) // to the framer again
		expectRead(t, c, fmt.Sprintf("stored 10 %v\nhello\n", proactor.ErrReceiveCanceled))
	})
	t.Run("PeerEOF", func(t *testing.T) {
		peerClosed := make(chan bool, 1)
		start(t, func(s *fileSink) {
			s.onPeer = func(c *proactor.Conn) {
				peerClosed <- len(s.done) == 1 // done ran first
				c.Close()
			}
		})
		c := dial(t, b, addr)
		c.Write(slices([]byte("PUT 1000\n"), body[:100]))
		c.CloseWrite()
		if !wait(t, peerClosed, "OnPeerClosed") {
			t.Fatal("OnPeerClosed before done")
		}
		r := wait(t, s.done, "done")
		if r.n != 100 || !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Fatalf("done(%d, %v), want 100 and io.ErrUnexpectedEOF", r.n, r.err)
		}
		checkFile(t, r.path, body[:100])
		s.waitClose(t)
	})
	t.Run("Reset", func(t *testing.T) {
		if b.Unix {
			t.Skip("a unix socket has no reset") // as PeerReset
		}
		start(t)
		c := dial(t, b, addr)
		c.Write(slices([]byte("PUT 1000\n"), body[:100]))
		sc := wait(t, s.opened, "OnOpen")
		// Wait until the receive has the bytes, then reset.
		done := make(chan struct{})
		for {
			sc.Do(func(*proactor.Conn) { done <- struct{}{} })
			wait(t, done, "Do")
			if fi, err := os.Stat(newest(t, s.dir)); err == nil && fi.Size() == 100 {
				break
			}
		}
		c.SetLinger(0)
		c.Close()
		ev := s.waitClose(t)
		select {
		case r := <-s.done:
			if r.n != 100 || r.err == nil || !errors.Is(r.err, ev.err) && ev.err != nil {
				t.Fatalf("done(%d, %v) for a connection closed with %v", r.n, r.err, ev.err)
			}
		default:
			t.Fatal("OnClose before done")
		}
	})
}

// testReceiveFileRaw: without a framer a receive started in OnOpen takes
// the first bytes, a second one started by the first's done the next
// ones, and OnData gets what follows.
func testReceiveFileRaw(t *testing.T, b Backend) {
	dir := t.TempDir()
	done := make(chan received, 2)
	sizes := []int64{5000, 3000}
	var receive func(c *proactor.Conn, i int)
	receive = func(c *proactor.Conn, i int) {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Error(err)
			return
		}
		err = c.ReceiveFile(f, sizes[i], func(n int64, err error) {
			f.Close()
			fmt.Fprintf(c, "stored %d %v\n", n, err)
			done <- received{n, err, f.Name()}
			if i+1 < len(sizes) {
				receive(c, i+1)
			}
		})
		if err != nil {
			t.Error(err)
		}
	}
	r := newRecorder(t)
	r.onOpen = func(c *proactor.Conn) { receive(c, 0) }
	_, addr := serve(t, b, r)
	c := dial(t, b, addr)
	body := pattern(8000, 9)
	c.Write(slices(body, []byte("tail")))
	expectRead(t, c, "stored 5000 <nil>\nstored 3000 <nil>\ntail")
	checkFile(t, wait(t, done, "done").path, body[:5000])
	checkFile(t, wait(t, done, "done").path, body[5000:])
}

func slices(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// newest returns the path of the most recently made file in dir.
func newest(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var when int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.ModTime().UnixNano() >= when {
			best, when = filepath.Join(dir, e.Name()), fi.ModTime().UnixNano()
		}
	}
	return best
}
