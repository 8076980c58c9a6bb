package line_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/line"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 10 * time.Second

// clock is the fixed time that TIME reports in the tests.
var clock = time.Date(2002, 6, 18, 12, 0, 0, 0, time.UTC)

// start runs a one-loop line server on a free port, on the default engine
// (the conformance suite covers the others).
func start(t *testing.T, h line.Handler) string {
	t.Helper()
	srv, err := proactor.NewServer(h, proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", line.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitLimit))
	got := make([]byte, len(line.Greeting))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != line.Greeting {
		t.Fatalf("greeting %q, %v; want %q", got, err, line.Greeting)
	}
	return c
}

// exchange writes send, then reads exactly len(want) bytes and compares.
func exchange(t *testing.T, c net.Conn, send, want string) {
	t.Helper()
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %q: %v (got %q)", want, err, got)
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// wantEOF checks that the server has closed the connection gracefully, with
// nothing more to read.
func wantEOF(t *testing.T, c net.Conn) {
	t.Helper()
	if n, err := c.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read = %d, %v; want EOF", n, err)
	}
}

func TestCommands(t *testing.T) {
	type step struct{ send, want string } // want: the answer read before the next step
	longest := "ECHO " + strings.Repeat("a", line.MaxLine-len("ECHO "))
	tooLong := longest + "a"
	tests := []struct {
		name    string
		steps   []step
		wantEOF bool // the server closes after the last step
	}{
		{name: "Echo", steps: []step{{"ECHO hello world\r\n", "+OK hello world\r\n"}}},
		{name: "EchoSpaces", steps: []step{{"ECHO  two  spaces \r\n", "+OK  two  spaces \r\n"}}},
		{name: "EchoNothing", steps: []step{{"ECHO\r\n", "+OK\r\n"}}},
		{name: "Time", steps: []step{{"TIME\r\n", "+OK 2002-06-18T12:00:00Z\r\n"}}},
		// The greeting was written (inline, on the default engine) before
		// the client could read it.
		{name: "Stats", steps: []step{{"STATS\r\n", fmt.Sprintf("+OK accepted=1 active=1 closed=0 bytes_in=7 bytes_out=%d\r\n", len(line.Greeting))}}},
		{name: "Quit", steps: []step{{"QUIT\r\n", "+OK bye\r\n"}}, wantEOF: true},
		{name: "Unknown", steps: []step{{"HELO there\r\n", "-ERR unknown command\r\n"}}},
		{name: "UnknownPrefix", steps: []step{{"ECHOX a\r\n", "-ERR unknown command\r\n"}}},
		{name: "Empty", steps: []step{{"\r\n", "-ERR unknown command\r\n"}}},
		{name: "LowerCase", steps: []step{{"echo a\r\ntime\r\n", "+OK a\r\n+OK 2002-06-18T12:00:00Z\r\n"}}},
		{name: "MixedCase", steps: []step{{"eChO a\r\nQuIt\r\n", "+OK a\r\n+OK bye\r\n"}}, wantEOF: true},
		{name: "IgnoredArgument", steps: []step{{"TIME please\r\n", "+OK 2002-06-18T12:00:00Z\r\n"}}},
		{name: "SeveralInOneWrite", steps: []step{{"ECHO a\r\nTIME\r\nNOPE\r\nECHO b\r\n",
			"+OK a\r\n+OK 2002-06-18T12:00:00Z\r\n-ERR unknown command\r\n+OK b\r\n"}}},
		// Reading the first answer proves the server has read the first
		// part, so the second line really arrives in two pieces.
		{name: "SplitLine", steps: []step{{"ECHO a\r\nECHO sp", "+OK a\r\n"}, {"lit\r\n", "+OK split\r\n"}}},
		{name: "SplitCRLF", steps: []step{{"ECHO a\r\nECHO b\r", "+OK a\r\n"}, {"\nECHO c\r\n", "+OK b\r\n+OK c\r\n"}}},
		{name: "LF", steps: []step{{"ECHO nc\nTIME\n", "+OK nc\r\n+OK 2002-06-18T12:00:00Z\r\n"}}},
		{name: "MixedEnds", steps: []step{{"ECHO a\nECHO b\r\n\nQUIT\n", "+OK a\r\n+OK b\r\n-ERR unknown command\r\n+OK bye\r\n"}}, wantEOF: true},
		{name: "BareCRIsData", steps: []step{{"ECHO a\rb\n", "+OK a\rb\r\n"}}},
		{name: "SplitLF", steps: []step{{"ECHO a\nECHO b", "+OK a\r\n"}, {"\n", "+OK b\r\n"}}},
		{name: "LongestLF", steps: []step{{longest + "\n", "+OK " + longest[5:] + "\r\n"}}},
		{name: "TooLongLF", steps: []step{{tooLong + "\nECHO after\n", "-ERR line too long\r\n"}}, wantEOF: true},
		{name: "QuitDropsTheRest", steps: []step{{"QUIT\r\nECHO after\r\n", "+OK bye\r\n"}}, wantEOF: true},
		{name: "Longest", steps: []step{{longest + "\r\n", "+OK " + longest[5:] + "\r\n"}}},
		{name: "LongestSplitAtCR", steps: []step{{"ECHO a\r\n" + longest + "\r", "+OK a\r\n"}, {"\n", "+OK " + longest[5:] + "\r\n"}}},
		{name: "TooLong", steps: []step{{tooLong + "\r\nECHO after\r\n", "-ERR line too long\r\n"}}, wantEOF: true},
		{name: "FarTooLong", steps: []step{{strings.Repeat("x", 100_000) + "\r\n", "-ERR line too long\r\n"}}, wantEOF: true},
		{name: "TooLongSplit", steps: []step{
			{"ECHO a\r\n" + tooLong[:600], "+OK a\r\n"},
			{tooLong[600:] + "\r\nECHO after\r\n", "-ERR line too long\r\n"},
		}, wantEOF: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, start(t, line.Handler{Now: func() time.Time { return clock }}))
			for _, s := range tt.steps {
				exchange(t, c, s.send, s.want)
			}
			if tt.wantEOF {
				wantEOF(t, c)
			} else {
				exchange(t, c, "ECHO still open\r\n", "+OK still open\r\n")
			}
		})
	}
}

// TestTime checks TIME against the real clock, which RFC 3339 gives to the
// second.
func TestTime(t *testing.T) {
	c := dial(t, start(t, line.Handler{}))
	before := time.Now().Truncate(time.Second)
	if _, err := io.WriteString(c, "TIME\r\n"); err != nil {
		t.Fatal(err)
	}
	var stamp string
	if _, err := fmt.Fscanf(c, "+OK %s\r\n", &stamp); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	got, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before) || got.After(after) {
		t.Errorf("TIME = %v, want between %v and %v", got, before, after)
	}
}

// TestStats checks that STATS counts every connection of the server.
func TestStats(t *testing.T) {
	addr := start(t, line.Handler{})
	a, b := dial(t, addr), dial(t, addr)
	exchange(t, a, "ECHO hi\r\n", "+OK hi\r\n")
	if _, err := io.WriteString(b, "STATS\r\n"); err != nil {
		t.Fatal(err)
	}
	var accepted, active, closed, in, out int
	if _, err := fmt.Fscanf(b, "+OK accepted=%d active=%d closed=%d bytes_in=%d bytes_out=%d\r\n",
		&accepted, &active, &closed, &in, &out); err != nil {
		t.Fatal(err)
	}
	if accepted != 2 || active != 2 || closed != 0 || in != len("ECHO hi\r\nSTATS\r\n") {
		t.Errorf("STATS = accepted=%d active=%d closed=%d bytes_in=%d; want 2, 2, 0, %d",
			accepted, active, closed, in, len("ECHO hi\r\nSTATS\r\n"))
	}
	// Bytes count as written when the engine reports the write complete,
	// which the std engine may do after the peer has them.
	if limit := 2*len(line.Greeting) + len("+OK hi\r\n"); out > limit {
		t.Errorf("STATS bytes_out=%d, want at most %d", out, limit)
	}
}

func TestFramer(t *testing.T) {
	longest := strings.Repeat("a", line.MaxLine)
	tests := []struct {
		name      string
		buf       string
		wantFrame string
		wantN     int
	}{
		{name: "Empty", buf: ""},
		{name: "Partial", buf: "ECHO a\r"},
		{name: "Line", buf: "ECHO a\r\nTIME", wantFrame: "ECHO a", wantN: 8},
		{name: "Longest", buf: longest + "\r\n", wantFrame: longest, wantN: line.MaxLine + 2},
		{name: "LongestAwaitingLF", buf: longest + "\r"},
		{name: "LF", buf: "ECHO a\nTIME", wantFrame: "ECHO a", wantN: 7},
		{name: "LongestLF", buf: longest + "\n", wantFrame: longest, wantN: line.MaxLine + 1},
		{name: "TooLongLF", buf: longest + "a\n", wantFrame: longest + "a", wantN: line.MaxLine + 1},
		{name: "TooLong", buf: longest + "aa\r\n", wantFrame: longest + "a", wantN: line.MaxLine + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, n, need, err := line.Framer{}.Next([]byte(tt.buf))
			if err != nil || string(frame) != tt.wantFrame || n != tt.wantN || need != 0 {
				t.Errorf("Next = %q, %d, %d, %v; want %q, %d, 0, nil", frame, n, need, err, tt.wantFrame, tt.wantN)
			}
			if cap(frame) != len(frame) {
				t.Errorf("frame capacity %d, want %d: appending must not overwrite the stream", cap(frame), len(frame))
			}
		})
	}
}
