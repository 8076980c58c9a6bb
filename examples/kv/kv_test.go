package kv_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/kv"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 20 * time.Second

// forEachEngine runs fn in a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// start serves a fresh store with two loops on a free port until the test
// ends, and returns its address.
func start(t *testing.T, engine string) string {
	t.Helper()
	h := kv.NewHandler()
	srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	addr, err := srv.Listen("127.0.0.1:0", kv.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

type client struct{ *servertest.Client }

func dial(t *testing.T, addr string) *client {
	return &client{servertest.Dial(t, addr, waitLimit)}
}

// expect reads exactly len(want) bytes and compares.
func (cl *client) expect(want string) {
	cl.T.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(cl.R, got); err != nil {
		cl.T.Fatalf("reading %q: %v (got %q)", want, err, got)
	}
	if string(got) != want {
		cl.T.Fatalf("got %q, want %q", got, want)
	}
}

// expectEOF checks that the server has closed the connection with nothing
// more to say.
func (cl *client) expectEOF() {
	cl.T.Helper()
	if b, err := cl.R.ReadByte(); !errors.Is(err, io.EOF) {
		cl.T.Fatalf("read %q, %v; want EOF", b, err)
	}
}

func TestWire(t *testing.T) {
	type step struct{ send, want string }
	tests := []struct {
		name    string
		steps   []step
		wantEOF bool // the server closes after the last step
	}{
		{name: "Array", steps: []step{{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n", "+OK\r\n"}, {"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "$2\r\nv1\r\n"}}},
		{name: "Inline", steps: []step{{"SET k v\r\nGET k\nPING\r\n", "+OK\r\n$1\r\nv\r\n+PONG\r\n"}}},
		{name: "EmptyLinesAndArrays", steps: []step{{"\r\n*0\r\n*-1\r\nPING\r\n", "+PONG\r\n"}}},
		{name: "BinaryValue", steps: []step{{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n\r\n\x00$\r\nGET k\r\n", "+OK\r\n$4\r\n\r\n\x00$\r\n"}}},
		// Reading the first reply proves the server read the first part, so
		// the command after it really arrives in two pieces.
		{name: "SplitCommand", steps: []step{
			{"PING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhe", "+PONG\r\n"},
			{"llo\r\nPING\r\n", "$5\r\nhello\r\n+PONG\r\n"},
		}},
		{name: "SplitInline", steps: []step{{"PING\r\nECHO hel", "+PONG\r\n"}, {"lo\r\n", "$5\r\nhello\r\n"}}},
		{name: "Errors", steps: []step{{"NOPE x\r\nGET\r\nPING\r\n",
			"-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n-ERR wrong number of arguments for 'get' command\r\n+PONG\r\n"}}},
		{name: "Client", steps: []step{{"CLIENT GETNAME\r\nCLIENT SETNAME me\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"a b\"\r\n",
			"$-1\r\n+OK\r\n$2\r\nme\r\n-ERR wrong number of arguments for 'client|setname' command\r\n"}}},
		{name: "Quit", steps: []step{{"PING\r\nQUIT\r\nPING\r\n", "+PONG\r\n+OK\r\n"}}, wantEOF: true},
		{name: "ProtocolError", steps: []step{{"PING\r\n*1\r\n$x\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"}}, wantEOF: true},
		{name: "NotABulk", steps: []step{{"*1\r\n:12345\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"}}, wantEOF: true},
		{name: "BulkOverLimit", steps: []step{{"*2\r\n$3\r\nGET\r\n$8388609\r\n",
			"-ERR Protocol error: invalid bulk length: over the limit of 8388608 bytes\r\n"}}, wantEOF: true},
		{name: "ArrayOverLimit", steps: []step{{"*65537\r\n", "-ERR Protocol error: invalid multibulk length: over the limit of 65536 elements\r\n"}}, wantEOF: true},
		{name: "InlineOverLimit", steps: []step{{"PING\r\n" + strings.Repeat("a", 70000),
			"+PONG\r\n-ERR Protocol error: too big inline request (over 65536 bytes)\r\n"}}, wantEOF: true},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cl := dial(t, addr)
				for _, s := range tt.steps {
					cl.Send(s.send)
					cl.expect(s.want)
				}
				if tt.wantEOF {
					cl.expectEOF()
				} else {
					cl.Send("ECHO still-open\r\n")
					cl.expect("$10\r\nstill-open\r\n")
				}
			})
		}
	})
}

// TestPipelining sends many commands in one write and checks the replies
// come back whole and in order.
func TestPipelining(t *testing.T) {
	const n = 2000
	forEachEngine(t, func(t *testing.T, engine string) {
		cl := dial(t, start(t, engine))
		var req, want strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&req, "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n")
			fmt.Fprintf(&want, ":%d\r\n", i)
			if i%100 == 0 {
				fmt.Fprintf(&req, "GET c\r\n")
				fmt.Fprintf(&want, "$%d\r\n%d\r\n", len(fmt.Sprint(i)), i)
			}
		}
		// The write and the reading of the replies overlap, or both sides'
		// buffers could fill.
		errc := make(chan error, 1)
		go func() {
			_, err := io.WriteString(cl.C, req.String())
			errc <- err
		}()
		cl.expect(want.String())
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentIncr has connections on both loops increment one key: the
// store must count every increment (and the race detector watches).
func TestConcurrentIncr(t *testing.T) {
	const conns, each = 8, 300
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine)
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(waitLimit))
				r := bufio.NewReader(c)
				for range each {
					if _, err := io.WriteString(c, "INCR shared\r\n"); err != nil {
						errs <- err
						return
					}
					if line, err := r.ReadString('\n'); err != nil || line[0] != ':' {
						errs <- fmt.Errorf("INCR: %q, %v", line, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		cl := dial(t, addr)
		cl.Send("GET shared\r\nDBSIZE\r\n")
		cl.expect(fmt.Sprintf("$4\r\n%d\r\n:1\r\n", conns*each))
	})
}
