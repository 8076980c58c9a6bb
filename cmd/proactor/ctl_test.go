package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// TestMain gives the servers the tests start a runtime directory of their
// own, so that their default control sockets neither meet a server the user
// runs nor each other's leftovers.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proactor-cmd-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestCtl drives a running server with `proactor ctl`: stats, pause (a
// connection made then waits), resume (it is served), and shutdown (the
// server exits 0 and its socket is gone).
func TestCtl(t *testing.T) {
	bin := buildBinary(t)
	sock := filepath.Join(t.TempDir(), "c.sock")
	cmd, lines := startServe(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1", "--control", sock)
	addr := waitListening(t, t.Context(), lines)
	if line := <-lines; line != "proactor: control on "+sock {
		t.Fatalf("second line %q, want the control socket", line)
	}
	ctl := func(args ...string) string {
		out, _ := runProactor(t, bin, exitOK, append([]string{"ctl", "--control", sock}, args...)...)
		return out
	}

	if out := ctl("stats"); !strings.Contains(out, "server       echo") || !strings.Contains(out, "accepting    on") ||
		!strings.Contains(out, addr) || !strings.Contains(out, "version      proactor (devel)") ||
		!regexp.MustCompile(`started      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+ \(up [0-9.]+m?s\)`).MatchString(out) ||
		!strings.Contains(out, "read         0 B in 0 reads") {
		t.Fatalf("stats:\n%s", out)
	}
	if out := ctl("pause"); out != "proactor: echo: accepting paused\n" {
		t.Fatalf("pause: %q", out)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	if out := ctl("stats", "--json"); !strings.Contains(out, `"paused": true`) || !strings.Contains(out, `"accepted": 0`) {
		t.Fatalf("stats --json while paused:\n%s", out)
	}
	if out := ctl("resume"); out != "proactor: echo: accepting on\n" {
		t.Fatalf("resume: %q", out)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("after resume: %q, %v", got, err)
	}
	ctlConns(t, bin, sock, c)

	if out := ctl("shutdown"); out != "proactor: shutting down\n" {
		t.Fatalf("shutdown: %q", out)
	}
	for range lines { // Wait may run only once stdout is drained
	}
	if got := exitStatus(t, cmd.Wait()); got != exitOK {
		t.Fatalf("exit status %d after ctl shutdown; stderr:\n%s", got, cmd.Stderr)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("control socket left behind: %v", err)
	}
	_, errOut := runProactor(t, bin, exitError, "ctl", "--control", sock, "stats")
	if !strings.Contains(errOut, "no server is listening on "+sock) {
		t.Fatalf("ctl with no server: %q", errOut)
	}
}

// ctlConns lists c, the server's one connection (it echoed 5 bytes), as a
// table and as JSON, closes it by its ID, and finds no such connection
// after.
func ctlConns(t *testing.T, bin, sock string, c net.Conn) {
	t.Helper()
	ctl := func(args ...string) string {
		out, _ := runProactor(t, bin, exitOK, append([]string{"ctl", "--control", sock}, args...)...)
		return out
	}
	out := ctl("conns")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID  PEER") {
		t.Fatalf("conns:\n%s", out)
	}
	// Aligned: each column of the row starts where its header does.
	header, row := lines[0], lines[1]
	for _, col := range []string{"PEER", "LOCAL", "AGE", "STATE", "INPUT", "OUTPUT", "READ", "WRITTEN", "QUEUED", "LOOP"} {
		i := strings.Index(header, col)
		if i <= 0 || i >= len(row) || row[i-1] != ' ' || row[i] == ' ' {
			t.Fatalf("column %s not aligned:\n%s", col, out)
		}
	}
	if f := strings.Fields(row); len(f) != 14 || f[1] != c.LocalAddr().String() || f[4] != "open" ||
		f[5] != "reading" || f[7]+f[8] != "5B" || f[11]+f[12] != "0B" || f[13] != "0" {
		t.Fatalf("conns row %q", row)
	}
	var cs []proactor.ConnInfo
	if err := json.Unmarshal([]byte(ctl("conns", "--json")), &cs); err != nil || len(cs) != 1 ||
		cs[0].BytesRead != 5 || cs[0].Peer.String() != c.LocalAddr().String() {
		t.Fatalf("conns --json: %+v, %v", cs, err)
	}
	id := strconv.FormatUint(cs[0].ID, 10)
	if out := ctl("close", id); out != "proactor: connection "+id+" closing\n" {
		t.Fatalf("close: %q", out)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after ctl close: read %d, %v; want EOF", n, err)
	}
	c.Close()
	_, errOut := runProactor(t, bin, exitError, "ctl", "--control", sock, "abort", "999999")
	if !strings.Contains(errOut, "no open connection 999999") {
		t.Fatalf("abort of an unknown ID: %q", errOut)
	}
}

func TestCtlUsage(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr string
	}{
		{name: "NoAction", args: []string{"ctl"}, wantStatus: exitUsage, wantStderr: "missing action"},
		{name: "UnknownAction", args: []string{"ctl", "explode"}, wantStatus: exitUsage, wantStderr: `unknown action "explode"`},
		{name: "TwoActions", args: []string{"ctl", "pause", "resume"}, wantStatus: exitUsage, wantStderr: `unexpected argument "resume"`},
		{name: "CloseNoID", args: []string{"ctl", "close"}, wantStatus: exitUsage, wantStderr: "close: missing the connection's ID"},
		{name: "AbortBadID", args: []string{"ctl", "abort", "x"}, wantStatus: exitUsage, wantStderr: `abort: bad connection ID "x"`},
		{name: "CloseTwoIDs", args: []string{"ctl", "close", "1", "2"}, wantStatus: exitUsage, wantStderr: `unexpected argument "2"`},
		{name: "ConnsWithID", args: []string{"ctl", "conns", "3"}, wantStatus: exitUsage, wantStderr: `unexpected argument "3"`},
		{name: "NoServer", args: []string{"ctl", "--server", "nosuch", "stats"}, wantStatus: exitError, wantStderr: "no server is listening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut := runProactor(t, bin, tt.wantStatus, tt.args...)
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("stderr %q lacks %q", errOut, tt.wantStderr)
			}
		})
	}
	if out, _ := runProactor(t, bin, exitOK, "ctl", "-h"); !strings.Contains(out, "Usage: proactor ctl") {
		t.Fatalf("help: %q", out)
	}
}

// TestCtlDefaultSocket: without --control, serve and ctl meet at the
// server name's default socket; a second server of the same name keeps
// running without one, and says so.
func TestCtlDefaultSocket(t *testing.T) {
	bin := buildBinary(t)
	first, firstLines := startServe(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1")
	addr := waitListening(t, t.Context(), firstLines)
	want := filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "proactor", "echo.sock")
	if line := <-firstLines; line != "proactor: control on "+want {
		t.Fatalf("control line %q, want the default socket %s", line, want)
	}

	second, secondLines := startServe(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1")
	waitListening(t, t.Context(), secondLines)
	out, _ := runProactor(t, bin, exitOK, "ctl", "stats")
	if !strings.Contains(out, addr) {
		t.Fatalf("ctl stats did not reach the first server (%s):\n%s", addr, out)
	}
	rest, stderr := stopServe(t, second, secondLines)
	if strings.Contains(strings.Join(rest, "\n"), "control on") || !strings.Contains(stderr, "running without a control endpoint") {
		t.Fatalf("second server: stdout %q, stderr:\n%s", rest, stderr)
	}
	stopServe(t, first, firstLines)
	if _, err := os.Lstat(want); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("default socket left behind: %v", err)
	}
}

// startServe starts the binary and returns it with its stdout's lines; the
// test's end kills it if stopServe has not stopped it.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = new(bytes.Buffer)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, readLines(ctx, stdout)
}

// stopServe stops a server with SIGINT, checks that it exits 0, and returns
// the rest of its stdout and all of its stderr.
func stopServe(t *testing.T, cmd *exec.Cmd, lines <-chan string) (rest []string, stderr string) {
	t.Helper()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for line := range lines { // Wait may run only once stdout is drained
		rest = append(rest, line)
	}
	err := cmd.Wait()
	stderr = cmd.Stderr.(*bytes.Buffer).String()
	if got := exitStatus(t, err); got != exitOK {
		t.Fatalf("exit status %d after SIGINT; stderr:\n%s", got, stderr)
	}
	return rest, stderr
}
