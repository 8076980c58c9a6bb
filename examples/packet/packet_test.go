package packet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/codec"
	"github.com/seed487d475b/proactor/examples/packet"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 10 * time.Second

// recorder is the packet handler that also reports each OnClose reason.
type recorder struct {
	packet.Handler
	closed chan error
}

func (r recorder) OnClose(_ *proactor.Conn, err error) {
	select {
	case r.closed <- err:
	default: // more closes than the test waits for, at server shutdown
	}
}

// start runs a one-loop packet server on a free port, on the default
// engine (the conformance suite covers the others).
func start(t *testing.T) (srv *proactor.Server, addr string, closed <-chan error) {
	t.Helper()
	ch := make(chan error, 16)
	srv, err := proactor.NewServer(recorder{closed: ch}, proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a, err := srv.Listen("127.0.0.1:0", packet.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, a.String(), ch
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitLimit))
	return c
}

// pkt frames payload as one packet.
func pkt(t *testing.T, payload string) []byte {
	t.Helper()
	p, err := packet.Framer{}.Append(nil, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exchange writes send, then reads exactly len(want) bytes and compares.
func exchange(t *testing.T, c net.Conn, send, want []byte) {
	t.Helper()
	if _, err := c.Write(send); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", len(want), err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEcho(t *testing.T) {
	type step struct{ send, want []byte } // want: the echo expected before the next step
	p1, p2, p3 := pkt(t, "a"), pkt(t, "hello"), pkt(t, "packet three")
	longest := pkt(t, strings.Repeat("x", packet.MaxPacket-1))
	var bytewise []step
	for i := range longest {
		bytewise = append(bytewise, step{send: longest[i : i+1]})
	}
	bytewise[len(bytewise)-1].want = longest
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "Shortest", steps: []step{{send: p1, want: p1}}},
		{name: "Longest", steps: []step{{send: longest, want: longest}}},
		{name: "ThreeInOneWrite", steps: []step{{send: cat(p1, p2, p3), want: cat(p1, p2, p3)}}},
		// Reading the first echo proves the server has read the first
		// part, so the second packet really arrives in two pieces.
		{name: "SplitInData", steps: []step{{send: cat(p1, p2[:3]), want: p1}, {send: p2[3:], want: p2}}},
		{name: "SplitAfterHeader", steps: []step{{send: cat(p1, p2[:1]), want: p1}, {send: p2[1:], want: p2}}},
		{name: "SplitLongest", steps: []step{{send: cat(p1, longest[:100]), want: p1}, {send: cat(longest[100:], p3), want: cat(longest, p3)}}},
		{name: "OneBytePerWrite", steps: bytewise},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, addr, _ := start(t)
			c := dial(t, addr)
			for _, s := range tt.steps {
				exchange(t, c, s.send, s.want)
			}
		})
	}
}

// TestBadHeader checks that a header below 2 closes that connection alone,
// with ErrBadFrame, counted in Stats.FrameErrors.
func TestBadHeader(t *testing.T) {
	tests := []struct {
		name   string
		header byte
	}{
		{name: "Zero", header: 0},
		{name: "One", header: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, addr, closed := start(t)
			good, bad := dial(t, addr), dial(t, addr)
			exchange(t, bad, pkt(t, "fine so far"), pkt(t, "fine so far"))

			if _, err := bad.Write([]byte{tt.header, 'x', 'y'}); err != nil {
				t.Fatal(err)
			}
			n, err := bad.Read(make([]byte, 16))
			if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				t.Fatalf("after a bad header, Read = %d, %v; want EOF or a reset", n, err)
			}
			select {
			case err := <-closed:
				if !errors.Is(err, proactor.ErrBadFrame) {
					t.Errorf("OnClose reason %v, want ErrBadFrame", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("no OnClose for the bad connection")
			}

			exchange(t, good, pkt(t, "still here"), pkt(t, "still here"))
			if got := srv.Stats().FrameErrors; got != 1 {
				t.Errorf("Stats.FrameErrors = %d, want 1", got)
			}
		})
	}
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name      string
		buf       string
		wantFrame string
		wantN     int
		wantNeed  int
		wantErr   error
	}{
		{name: "Empty", buf: ""},
		{name: "HeaderOnly", buf: "\x05", wantNeed: 5},
		{name: "Partial", buf: "\x05ab", wantNeed: 5},
		{name: "Shortest", buf: "\x02a", wantFrame: "\x02a", wantN: 2},
		{name: "Whole", buf: "\x03ab\x02", wantFrame: "\x03ab", wantN: 3},
		{name: "LengthZero", buf: "\x00abc", wantErr: codec.ErrBadFrame},
		{name: "LengthOne", buf: "\x01abc", wantErr: codec.ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, n, need, err := packet.Framer{}.Next([]byte(tt.buf))
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if string(frame) != tt.wantFrame || n != tt.wantN || need != tt.wantNeed {
				t.Errorf("Next = %q, %d, %d; want %q, %d, %d", frame, n, need, tt.wantFrame, tt.wantN, tt.wantNeed)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string
		wantErr error
	}{
		{name: "Short", payload: "hi", want: "\x03hi"},
		{name: "Longest", payload: strings.Repeat("x", packet.MaxPacket-1), want: "\xff" + strings.Repeat("x", packet.MaxPacket-1)},
		{name: "TooLong", payload: strings.Repeat("x", packet.MaxPacket), wantErr: codec.ErrFrameTooLarge},
		{name: "Empty", payload: "", wantErr: codec.ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := packet.Framer{}.Append([]byte("prefix"), []byte(tt.payload))
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if want := "prefix" + tt.want; string(got) != want {
				t.Errorf("Append = %q, want %q", got, want)
			}
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
