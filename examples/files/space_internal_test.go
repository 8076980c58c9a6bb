package files

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// TestRoomReserve checks the arithmetic of the free-space check against a
// file system that reports a fixed free space.
func TestRoomReserve(t *testing.T) {
	r := room{minFree: 100, avail: func() (int64, error) { return 1000, nil }}
	if _, err := r.reserve(901); err == nil {
		t.Fatal("901 bytes of 1000 with 100 kept free: reserved, want refused")
	}
	if n, err := r.reserve(600); err != nil || n != 600 {
		t.Fatalf("reserve(600) = %d, %v", n, err)
	}
	// The first upload's bytes still to come count against the second.
	if _, err := r.reserve(301); err == nil {
		t.Fatal("301 more bytes with 600 reserved: reserved, want refused")
	}
	if n, err := r.reserve(300); err != nil || n != 300 {
		t.Fatalf("reserve(300) = %d, %v: exactly the room left", n, err)
	}
	r.release(900)
	if n, err := r.reserve(1<<63 - 1); err == nil {
		t.Fatalf("reserve(MaxInt64) = %d: the subtraction overflowed", n)
	}
	if n, err := r.reserve(0); err != nil || n != 0 {
		t.Fatalf("reserve(0) = %d, %v", n, err)
	}

	off := room{minFree: -1, avail: func() (int64, error) { return 0, nil }}
	if n, err := off.reserve(1 << 40); err != nil || n != 0 {
		t.Fatalf("check off: reserve = %d, %v; want 0, nil", n, err)
	}
	unknown := room{avail: func() (int64, error) { return 0, errors.ErrUnsupported }}
	if n, err := unknown.reserve(1 << 40); err != nil || n != 0 {
		t.Fatalf("free space unknown: reserve = %d, %v; want 0, nil", n, err)
	}
	failing := room{avail: func() (int64, error) { return 0, errors.New("EIO") }}
	if _, err := failing.reserve(1); err == nil || !strings.Contains(err.Error(), "checking the free space: EIO") {
		t.Fatalf("statfs failing: reserve = %v", err)
	}
}

// TestRoomUploads checks that uploads hold their room while their bytes
// are on the way and give it back however they end: stored, failed or cut
// short.
func TestRoomUploads(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			h, err := New(t.TempDir(), WithMinFree(0))
			if err != nil {
				t.Fatal(err)
			}
			const free = 10 << 20
			h.room.avail = func() (int64, error) { return free, nil }
			srv, err := proactor.NewServer(h, proactor.WithLoops(1), proactor.WithEngineName(engine))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			defer srv.Close()
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 6<<20)
			a, b := dialRoom(t, addr.String()), dialRoom(t, addr.String())
			a.put(data, "+OK")
			b.put(data, "-ERR not enough space for 6291456 bytes")
			a.send(data)
			a.want("+OK stored")
			waitPending(t, h, 0)
			b.put(data, "+OK")
			b.send(data[:1<<20])
			b.c.Close() // cut short: the 5 MiB still to come are given back
			waitPending(t, h, 0)
			a.put([]byte("not the data"), "+OK")
			a.send(data[:12])
			a.want("-ERR sha256 mismatch")
			waitPending(t, h, 0)
		})
	}
}

// roomClient is a bare protocol client for TestRoomUploads.
type roomClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRoom(t *testing.T, addr string) *roomClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &roomClient{t: t, c: c, r: bufio.NewReader(c)}
}

// put announces data and checks how the reply starts.
func (cl *roomClient) put(data []byte, want string) {
	cl.t.Helper()
	fmt.Fprintf(cl.c, "PUT f %d %x\r\n", len(data), sha256.Sum256(data))
	cl.want(want)
}

func (cl *roomClient) send(b []byte) {
	cl.t.Helper()
	if _, err := cl.c.Write(b); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *roomClient) want(prefix string) {
	cl.t.Helper()
	if l, err := cl.r.ReadString('\n'); !strings.HasPrefix(l, prefix) {
		cl.t.Fatalf("reply %q, %v; want one starting with %q", l, err, prefix)
	}
}

// waitPending waits until the uploads hold want bytes of room: the server
// gives an interrupted upload's room back on its own time.
func waitPending(t *testing.T, h *Handler, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.room.pending.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("uploads hold %d bytes of room, want %d", h.room.pending.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
