package files_test

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/files"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 10 * time.Second

// server is a files server on a free port, over a temporary root.
type server struct {
	dir  string
	addr string
	h    *files.Handler
	srv  *proactor.Server
}

// start serves a new temporary directory on engine ("" for the default).
// The cleanup stops the server, then the handler.
func start(t *testing.T, engine string, opts ...files.Option) *server {
	t.Helper()
	dir := t.TempDir()
	h, err := files.New(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := proactor.NewServer(h, proactor.WithLoops(1), proactor.WithEngineName(engine))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Errorf("Handler.Close: %v", err)
		}
	})
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &server{dir: dir, addr: addr.String(), h: h, srv: srv}
}

// forEachEngine runs fn in a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// client speaks the protocol over a plain net.Conn.
type client struct{ *servertest.Client }

func dial(t *testing.T, addr string) *client {
	return &client{servertest.Dial(t, addr, waitLimit)}
}

// line reads one reply line, without its CRLF.
func (cl *client) line() string {
	cl.T.Helper()
	l, err := cl.R.ReadString('\n')
	if err != nil {
		cl.T.Fatalf("reading a reply: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		cl.T.Fatalf("reply %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (cl *client) want(want string) {
	cl.T.Helper()
	if got := cl.line(); got != want {
		cl.T.Fatalf("reply %q, want %q", got, want)
	}
}

// wantPrefix reads a reply line and checks how it starts.
func (cl *client) wantPrefix(prefix string) string {
	cl.T.Helper()
	got := cl.line()
	if !strings.HasPrefix(got, prefix) {
		cl.T.Fatalf("reply %q, want one starting with %q", got, prefix)
	}
	return got
}

// put uploads data as name with its right SHA-256 and returns the final
// reply.
func (cl *client) put(name string, data []byte) string {
	cl.T.Helper()
	cl.Send(fmt.Sprintf("PUT %s %d %x\r\n", name, len(data), sha256.Sum256(data)))
	cl.want("+OK")
	if _, err := cl.C.Write(data); err != nil {
		cl.T.Fatal(err)
	}
	return cl.line()
}

// get downloads name and checks the header against the bytes.
func (cl *client) get(name string) []byte {
	cl.T.Helper()
	cl.Send("GET " + name + "\r\n")
	return cl.readGet(name)
}

// readGet reads the reply to a GET already sent.
func (cl *client) readGet(name string) []byte {
	cl.T.Helper()
	var size int
	var sum string
	if _, err := fmt.Sscanf(cl.wantPrefix("+OK "), "+OK %d %s", &size, &sum); err != nil {
		cl.T.Fatal(err)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(cl.R, data); err != nil {
		cl.T.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != sum {
		cl.T.Fatalf("GET %s: header says sha256 %s, bytes hash to %s", name, sum, got)
	}
	return data
}

// list returns LIST's entries.
func (cl *client) list() []string {
	cl.T.Helper()
	cl.Send("LIST\r\n")
	return cl.readList()
}

// readList reads the reply to a LIST already sent.
func (cl *client) readList() []string {
	cl.T.Helper()
	var n int
	if _, err := fmt.Sscanf(cl.wantPrefix("+OK "), "+OK %d", &n); err != nil {
		cl.T.Fatal(err)
	}
	entries := []string{}
	for range n {
		entries = append(entries, cl.line())
	}
	cl.want(".")
	return entries
}

// wantEOF checks that the server has closed the connection.
func (cl *client) wantEOF() {
	cl.T.Helper()
	if b, err := cl.R.ReadByte(); err == nil {
		cl.T.Fatalf("read %q, want the end of the connection", b)
	}
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// waitDir polls dir until it holds exactly want (sorted), for at most
// waitLimit: the server removes an interrupted upload's temporary file on
// its own time, after the connection has closed.
func waitDir(t *testing.T, dir string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	deadline := time.Now().Add(waitLimit)
	for {
		got := dirNames(t, dir)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("directory holds %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
