package pop3d_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/pop3d"
	"github.com/seed487d475b/proactor/pop3"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// waitLimit bounds every wait on the server or on curl.
const waitLimit = 20 * time.Second

// messages are alice's maildir, in delivery order: LF line ends with lines
// that start with dots, a message in wire form (sent with SendFile), one
// without a final line end, and a large one that needs many chunks.
var messages = []struct{ name, text string }{
	{"1000.A.host", "Subject: dots\n\n.a line with a dot\n..two\n.\nend\n"},
	{"1001.B.host:2,S", "Subject: wire\r\n\r\nalready CRLF\r\n"},
	{"1002.C.host", "Subject: no end\n\nlast line"},
	{"1003.D.host", "Subject: large\n\n" + strings.Repeat(".dotted line of text, long enough\n", 50_000)},
}

// crlf is what a client gets of a stored message once it is un-stuffed:
// every line ended by CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// setup makes a maildrop directory with alice's messages and her
// password, and returns it with the users file.
func setup(t *testing.T) (dir, users string) {
	t.Helper()
	dir = t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, "alice", sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range messages {
		sub := "new"
		if strings.Contains(m.name, ":2,") {
			sub = "cur"
		}
		if err := os.WriteFile(filepath.Join(dir, "alice", sub, m.name), []byte(m.text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// bcrypt's lowest cost: the default's 2^10 rounds take a second a
	// login under the race detector, and the tests log in dozens of times.
	// AddUser, which uses the default, is tested by cmd/proactor.
	hash, err := bcrypt.GenerateFromPassword([]byte("open sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users = filepath.Join(dir, pop3d.UsersFile)
	if err := os.WriteFile(users, []byte("# a comment\nalice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, users
}

// start serves the maildrop on engine and returns its address.
func start(t *testing.T, engine, dir, users string) string {
	t.Helper()
	store, err := pop3d.New(dir, users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := pop3.NewHandler(store, pop3.Limits{FailDelay: 10 * time.Millisecond})
	// Small watermarks make the large message wait for the output to
	// drain many times.
	srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(2),
		proactor.WithWriteWatermarks(64<<10, 16<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", pop3.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

// curl runs curl with args and returns its standard output.
func curl(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--max-time", "15"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %q: %v; stderr: %s", args, err, stderr.String())
	}
	return out
}

// TestCurl drives the server with curl on every engine: RETR of each
// message byte for byte, LIST, and DELE seen gone by the next session.
func TestCurl(t *testing.T) {
	servertest.Tool(t, "curl")
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			dir, users := setup(t)
			url := "pop3://alice:open%20sesame@" + start(t, engine, dir, users) + "/"
			for i, m := range messages {
				got := curl(t, fmt.Sprintf("%s%d", url, i+1))
				if want := crlf(m.text); string(got) != want {
					t.Fatalf("RETR %d: %d bytes, want %d; first difference at %d",
						i+1, len(got), len(want), firstDiff(string(got), want))
				}
			}
			if got, want := string(curl(t, url)), listing(messages); got != want {
				t.Fatalf("LIST: %q, want %q", got, want)
			}
			// -I: DELE answers one line, no body.
			curl(t, "-I", "-X", "DELE 1", url)
			if got, want := string(curl(t, url)), listing(messages[1:]); got != want {
				t.Fatalf("LIST after DELE 1: %q, want %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "alice", "new", messages[0].name)); !os.IsNotExist(err) {
				t.Fatalf("message 1 still stored after DELE and QUIT: %v", err)
			}
		})
	}
}

// listing is what curl prints for LIST of msgs: "n size" lines.
func listing(msgs []struct{ name, text string }) string {
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d %d\r\n", i+1, len(crlf(m.text)))
	}
	return b.String()
}

func firstDiff(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// session is a scripted raw-socket client.
type session struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *session {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitLimit))
	s := &session{t: t, c: c, r: bufio.NewReader(c)}
	if got := s.line(); got != strings.TrimSuffix(pop3.Greeting, "\r\n") {
		t.Fatalf("greeting %q", got)
	}
	return s
}

func (s *session) line() string {
	s.t.Helper()
	l, err := s.r.ReadString('\n')
	if err != nil {
		s.t.Fatalf("reading a line: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// do sends a command (ended by LF, as nc would) and returns the response's
// first line, then its body lines if multi is set.
func (s *session) do(cmd string, multi bool) (string, []string) {
	s.t.Helper()
	if _, err := io.WriteString(s.c, cmd+"\n"); err != nil {
		s.t.Fatal(err)
	}
	first := s.line()
	if !multi || !strings.HasPrefix(first, "+OK") {
		return first, nil
	}
	var body []string
	for l := s.line(); l != "."; l = s.line() {
		body = append(body, l)
	}
	return first, body
}

// TestSession scripts TOP, UIDL, RSET, the lock and the UPDATE state over
// a raw socket on every engine.
func TestSession(t *testing.T) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			dir, users := setup(t)
			addr := start(t, engine, dir, users)
			a := dial(t, addr)
			a.do("USER alice", false)
			if got, _ := a.do("PASS wrong", false); got != "-ERR [AUTH] invalid user name or password" {
				t.Fatalf("wrong password: %q", got)
			}
			a.do("USER alice", false)
			if got, _ := a.do("PASS open sesame", false); !strings.HasPrefix(got, "+OK maildrop has 4 messages") {
				t.Fatalf("login: %q", got)
			}
			b := dial(t, addr)
			b.do("USER alice", false)
			if got, _ := b.do("PASS open sesame", false); got != "-ERR [IN-USE] maildrop locked: another session holds it" {
				t.Fatalf("second login: %q", got)
			}
			if _, body := a.do("TOP 1 1", true); strings.Join(body, "|") != "Subject: dots||..a line with a dot" {
				t.Fatalf("TOP 1 1: %q", body)
			}
			if _, body := a.do("UIDL", true); strings.Join(body, "|") != "1 1000.A.host|2 1001.B.host|3 1002.C.host|4 1003.D.host" {
				t.Fatalf("UIDL: %q", body)
			}
			a.do("DELE 2", false)
			if got, _ := a.do("STAT", false); !strings.HasPrefix(got, "+OK 3 ") {
				t.Fatalf("STAT after DELE: %q", got)
			}
			if got, _ := a.do("RSET", false); !strings.HasPrefix(got, "+OK maildrop has 4 messages") {
				t.Fatalf("RSET: %q", got)
			}
			a.do("DELE 3", false)
			if got, _ := a.do("BOGUS", false); !strings.HasPrefix(got, "-ERR") {
				t.Fatalf("unknown command: %q", got)
			}
			if got, _ := a.do("QUIT", false); got != "+OK bye (1 messages deleted)" {
				t.Fatalf("QUIT: %q", got)
			}
			if _, err := a.r.ReadByte(); err != io.EOF {
				t.Fatalf("after QUIT: %v, want EOF", err)
			}
			c := dial(t, addr)
			c.do("USER alice", false)
			c.do("PASS open sesame", false)
			if _, body := c.do("UIDL", true); strings.Join(body, "|") != "1 1000.A.host|2 1001.B.host|3 1003.D.host" {
				t.Fatalf("UIDL in the next session: %q", body)
			}
			// A session that ends without QUIT deletes nothing.
			c.do("DELE 1", false)
			c.c.Close()
			d := dial(t, addr)
			d.do("USER alice", false)
			for got, _ := d.do("PASS open sesame", false); got != "+OK maildrop has 3 messages ("+fmt.Sprint(size(0, 1, 3))+" octets)"; got, _ = d.do("PASS open sesame", false) {
				// The lost session's lock is released just after it closed.
				if !strings.Contains(got, "IN-USE") {
					t.Fatalf("login after a lost session: %q", got)
				}
				d.do("USER alice", false)
			}
			// A line over the limit is no POP3: the connection closes.
			if _, err := io.WriteString(d.c, "STAT "+strings.Repeat("x", pop3.MaxLine)+"\n"); err != nil {
				t.Fatal(err)
			}
			if got, err := d.r.ReadString('\n'); err != io.EOF {
				t.Fatalf("after an over-long line: %q, %v; want EOF", got, err)
			}
		})
	}
}

// size is the total size of the given messages as sent.
func size(indexes ...int) int {
	n := 0
	for _, i := range indexes {
		n += len(crlf(messages[i].text))
	}
	return n
}
