package pop3_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seed487d475b/proactor/pop3"
)

// memStore is an Authenticator of in-memory maildrops, for the tests.
type memStore struct {
	mu     sync.Mutex
	pass   map[string]string
	boxes  map[string][]string
	locked map[string]bool
}

func newMemStore() *memStore {
	return &memStore{
		pass:   map[string]string{"alice": "secret word"},
		boxes:  map[string][]string{"alice": {"Subject: one\n\n.hidden dot\nend", "Subject: two\r\n\r\nbody\r\n"}},
		locked: map[string]bool{},
	}
}

func (s *memStore) Login(user, pass string) (pop3.Maildrop, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pass[user]; !ok || p != pass {
		return nil, pop3.ErrAuth
	}
	if s.locked[user] {
		return nil, pop3.ErrLocked
	}
	s.locked[user] = true
	d := &memDrop{store: s, user: user}
	for i, text := range s.boxes[user] {
		size, wire, _ := pop3.Measure(strings.NewReader(text))
		d.msgs = append(d.msgs, pop3.Message{Size: size, UID: "uid-" + string(rune('a'+i)), Wire: wire})
	}
	return d, nil
}

type memDrop struct {
	store *memStore
	user  string
	msgs  []pop3.Message
}

func (d *memDrop) Messages() []pop3.Message { return d.msgs }

func (d *memDrop) Open(i int) (io.ReadCloser, error) {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	return io.NopCloser(strings.NewReader(d.store.boxes[d.user][i])), nil
}

func (d *memDrop) Delete(indexes []int) error {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	var keep []string
	for i, m := range d.store.boxes[d.user] {
		gone := false
		for _, j := range indexes {
			gone = gone || i == j
		}
		if !gone {
			keep = append(keep, m)
		}
	}
	d.store.boxes[d.user] = keep
	return nil
}

func (d *memDrop) Close() error {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	delete(d.store.locked, d.user)
	return nil
}

// buffer is an Output that keeps everything.
type buffer struct{ bytes.Buffer }

func (b *buffer) Write(p []byte) error { b.Buffer.Write(p); return nil }
func (b *buffer) SendFile(f *os.File, n int64) error {
	defer f.Close()
	_, err := io.CopyN(&b.Buffer, f, n)
	return err
}
func (b *buffer) Wait() error { return nil }

// run executes one command line and returns the response.
func run(t *testing.T, s *pop3.Session, line string) (string, bool) {
	t.Helper()
	cmd, err := pop3.Parse([]byte(line))
	if err != nil {
		return "parse error", false
	}
	var out buffer
	done, err := s.Exec(cmd, &out)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return out.String(), done
}

func TestSession(t *testing.T) {
	store := newMemStore()
	limits := pop3.Limits{FailDelay: -1}
	s := pop3.NewSession(store, limits)
	size1 := len("Subject: one\r\n\r\n.hidden dot\r\nend\r\n")
	size2 := len("Subject: two\r\n\r\nbody\r\n")
	steps := []struct {
		line  string
		want  string
		state pop3.State
	}{
		{"STAT", "-ERR command not valid in this state\r\n", pop3.Authorization},
		{"PASS x", "-ERR USER first\r\n", pop3.Authorization},
		{"APOP alice 0123", "-ERR APOP is not offered; use USER and PASS\r\n", pop3.Authorization},
		{"CAPA", "+OK capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION proactor\r\n.\r\n", pop3.Authorization},
		{"user alice", "+OK send PASS\r\n", pop3.Authorization},
		{"PASS wrong", "-ERR [AUTH] invalid user name or password\r\n", pop3.Authorization},
		{"PASS secret word", "-ERR USER first\r\n", pop3.Authorization},
		{"USER alice", "+OK send PASS\r\n", pop3.Authorization},
		{"PASS secret word", "+OK maildrop has 2 messages (" + itoa(size1+size2) + " octets)\r\n", pop3.Transaction},
		{"USER bob", "-ERR command not valid in this state\r\n", pop3.Transaction},
		{"STAT", "+OK 2 " + itoa(size1+size2) + "\r\n", pop3.Transaction},
		{"LIST", "+OK 2 messages (" + itoa(size1+size2) + " octets)\r\n1 " + itoa(size1) + "\r\n2 " + itoa(size2) + "\r\n.\r\n", pop3.Transaction},
		{"LIST 2", "+OK 2 " + itoa(size2) + "\r\n", pop3.Transaction},
		{"LIST 3", "-ERR no message 3\r\n", pop3.Transaction},
		{"LIST 0", "-ERR no message 0\r\n", pop3.Transaction},
		{"LIST x", "-ERR \"x\" is not a message number\r\n", pop3.Transaction},
		{"UIDL", "+OK 2 messages (" + itoa(size1+size2) + " octets)\r\n1 uid-a\r\n2 uid-b\r\n.\r\n", pop3.Transaction},
		{"UIDL 1", "+OK 1 uid-a\r\n", pop3.Transaction},
		{"RETR 1", "+OK " + itoa(size1) + " octets\r\nSubject: one\r\n\r\n..hidden dot\r\nend\r\n.\r\n", pop3.Transaction},
		{"RETR 2", "+OK " + itoa(size2) + " octets\r\nSubject: two\r\n\r\nbody\r\n.\r\n", pop3.Transaction},
		{"TOP 1 0", "+OK top of message 1\r\nSubject: one\r\n\r\n.\r\n", pop3.Transaction},
		{"TOP 1 1", "+OK top of message 1\r\nSubject: one\r\n\r\n..hidden dot\r\n.\r\n", pop3.Transaction},
		{"TOP 1", "-ERR TOP takes 2 arguments\r\n", pop3.Transaction},
		{"TOP 1 -1", "-ERR \"-1\" is not a line count\r\n", pop3.Transaction},
		{"DELE 1", "+OK message 1 deleted\r\n", pop3.Transaction},
		{"DELE 1", "-ERR message 1 is deleted\r\n", pop3.Transaction},
		{"RETR 1", "-ERR message 1 is deleted\r\n", pop3.Transaction},
		{"STAT", "+OK 1 " + itoa(size2) + "\r\n", pop3.Transaction},
		{"LIST", "+OK 1 messages (" + itoa(size2) + " octets)\r\n2 " + itoa(size2) + "\r\n.\r\n", pop3.Transaction},
		{"RSET", "+OK maildrop has 2 messages (" + itoa(size1+size2) + " octets)\r\n", pop3.Transaction},
		{"RETR 1", "+OK " + itoa(size1) + " octets\r\nSubject: one\r\n\r\n..hidden dot\r\nend\r\n.\r\n", pop3.Transaction},
		{"NOOP", "+OK\r\n", pop3.Transaction},
		{"DELE 2", "+OK message 2 deleted\r\n", pop3.Transaction},
		{"QUIT", "+OK bye (1 messages deleted)\r\n", pop3.Update},
	}
	for _, st := range steps {
		got, done := run(t, s, st.line)
		if got != st.want || s.State() != st.state || done != (st.line == "QUIT") {
			t.Fatalf("%s: %q in %v (done %v); want %q in %v", st.line, got, s.State(), done, st.want, st.state)
		}
	}
	if n := len(store.boxes["alice"]); n != 1 || store.locked["alice"] {
		t.Fatalf("after QUIT: %d messages, locked %v; want 1, unlocked", n, store.locked["alice"])
	}
}

// TestSessionLock checks that a maildrop serves one session at a time,
// and that a session ended without QUIT deletes nothing.
func TestSessionLock(t *testing.T) {
	store := newMemStore()
	a := pop3.NewSession(store, pop3.Limits{FailDelay: -1})
	b := pop3.NewSession(store, pop3.Limits{FailDelay: -1})
	login := func(s *pop3.Session) string {
		run(t, s, "USER alice")
		got, _ := run(t, s, "PASS secret word")
		return got
	}
	if got := login(a); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("first login: %q", got)
	}
	if got := login(b); got != "-ERR [IN-USE] maildrop locked: another session holds it\r\n" {
		t.Fatalf("second login: %q", got)
	}
	run(t, a, "DELE 1")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := login(b); !strings.HasPrefix(got, "+OK maildrop has 2 messages") {
		t.Fatalf("login after the first session ended: %q", got)
	}
}

// TestSessionFailures checks that failed logins end the session at the
// limit.
func TestSessionFailures(t *testing.T) {
	s := pop3.NewSession(newMemStore(), pop3.Limits{FailDelay: -1, MaxFailures: 2})
	run(t, s, "USER alice")
	if got, done := run(t, s, "PASS a"); done || got != "-ERR [AUTH] invalid user name or password\r\n" {
		t.Fatalf("first failure: %q, done %v", got, done)
	}
	run(t, s, "USER nobody")
	if got, done := run(t, s, "PASS b"); !done || !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Fatalf("second failure: %q, done %v", got, done)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		line    string
		name    string
		args    []string
		wantErr bool
	}{
		{line: "STAT", name: "STAT"},
		{line: "top 1 10", name: "TOP", args: []string{"1", "10"}},
		{line: "PASS two words ", name: "PASS", args: []string{"two words "}},
		{line: "LIST  1", wantErr: true},
		{line: "TOP 1 2 3", wantErr: true},
		{line: "USER " + strings.Repeat("x", pop3.MaxArg+1), wantErr: true},
		{line: "XYZZY", wantErr: true},
		{line: "", wantErr: true},
		{line: "STAT " + strings.Repeat("x", pop3.MaxLine), wantErr: true},
	}
	for _, tt := range tests {
		cmd, err := pop3.Parse([]byte(tt.line))
		if tt.wantErr {
			if !errors.Is(err, pop3.ErrSyntax) {
				t.Errorf("Parse(%q) = %v, want ErrSyntax", tt.line, err)
			}
			continue
		}
		var args []string
		for _, a := range cmd.Args {
			args = append(args, string(a))
		}
		if err != nil || cmd.Name != tt.name || strings.Join(args, "|") != strings.Join(tt.args, "|") {
			t.Errorf("Parse(%q) = %s %q, %v; want %s %q", tt.line, cmd.Name, args, err, tt.name, tt.args)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzParse checks that Parse never panics and keeps its limits.
func FuzzParse(f *testing.F) {
	f.Add([]byte("TOP 1 10"))
	f.Add([]byte("PASS a b c"))
	f.Add([]byte("list  "))
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := pop3.Parse(line)
		if err != nil {
			return
		}
		if len(line) > pop3.MaxLine || len(cmd.Args) > 2 {
			t.Fatalf("Parse(%q) took %d args", line, len(cmd.Args))
		}
		for _, a := range cmd.Args {
			if cmd.Name != "PASS" && (len(a) == 0 || len(a) > pop3.MaxArg) {
				t.Fatalf("Parse(%q) took argument %q", line, a)
			}
		}
	})
}
