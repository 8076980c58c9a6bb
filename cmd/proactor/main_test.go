package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/line"
)

// testTimeout bounds every child process, so that a broken binary fails the
// test instead of hanging it.
const testTimeout = 30 * time.Second

var listeningRE = regexp.MustCompile(`^proactor: \w+ listening on (\S+) \(engine \w+, \d+ loops?\)$`)

// TestCLI builds the binary once and runs every case against it: the
// command's contract is its exit status and output, which only a real
// process shows, signals included.
func TestCLI(t *testing.T) {
	bin := buildBinary(t)
	for _, engine := range append([]string{"auto"}, proactor.Engines()...) {
		t.Run("EchoAndGracefulStop/"+engine, func(t *testing.T) {
			t.Parallel()
			testServe(t, bin, 1, echoHello, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1", "--engine", engine)
		})
	}
	t.Run("ReusePort", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 1, echoHello, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "2", "--reuse-port")
	})
	t.Run("BusyPoll", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 1, echoHello, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1", "--busy-poll", "50us")
	})
	t.Run("LeastConns", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 1, echoHello, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "2", "--least-conns")
	})
	t.Run("Dual", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 2, echoHello, "serve", "dual", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--loops", "1")
	})
	t.Run("Packet", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 1, exchange{send: "\x06hello\x02!", want: "\x06hello\x02!"},
			"serve", "packet", "--listen", "127.0.0.1:0", "--loops", "1")
	})
	t.Run("Line", func(t *testing.T) {
		t.Parallel()
		// Two answers to one write show that the framer came along with
		// --listen: unframed, the handler would take both as one line.
		// The first ends in a bare LF, as nc sends.
		testServe(t, bin, 1, exchange{send: "ECHO hello\nECHO again\r\n", want: line.Greeting + "+OK hello\r\n+OK again\r\n"},
			"serve", "line", "--listen", "127.0.0.1:0", "--loops", "1")
	})
	t.Run("ProtectionFlags", func(t *testing.T) {
		t.Parallel()
		testServe(t, bin, 1, echoHello, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1",
			"--first-data-timeout", "2s", "--idle-timeout", "5s", "--read-timeout", "2s", "--write-timeout", "2s",
			"--max-conns", "10", "--max-conns-per-ip", "5", "--allow", "127.0.0.0/8", "--deny", "10.0.0.0/8",
			"--deny", "192.0.2.1", "--defer-accept", "--write-high", "64KiB", "--write-low", "16KiB", "--write-max", "4MiB",
			"--keepalive", "30s", "--nodelay=false")
	})
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr []string // substrings, all required
		notStderr  []string // substrings, none allowed
	}{
		{name: "NoArgs", args: nil, wantStatus: exitUsage, wantStderr: []string{"Usage: proactor", "serve"}},
		{name: "UnknownCommand", args: []string{"nosuch"}, wantStatus: exitUsage, wantStderr: []string{`proactor: unknown command "nosuch"`, "run 'proactor -h'"}},
		{name: "Help", args: []string{"-h"}, wantStatus: exitOK},
		{name: "ServeNoName", args: []string{"serve"}, wantStatus: exitUsage, wantStderr: []string{"missing server name (one of: dual, echo, files, http, line, packet, pop3, resp, udp-echo)", "run 'proactor serve -h' for usage"}},
		{name: "ServeUnknownName", args: []string{"serve", "nosuch"}, wantStatus: exitUsage, wantStderr: []string{`unknown server "nosuch"; servers: dual, echo`}},
		{name: "ServeHelp", args: []string{"serve", "-h"}, wantStatus: exitOK},
		{name: "UnknownEngine", args: []string{"serve", "echo", "--engine", "nosuch", "--listen", "127.0.0.1:0"}, wantStatus: exitUsage, wantStderr: []string{`proactor: unknown engine "nosuch"; available: auto`}},
		{name: "NegativeLoops", args: []string{"serve", "echo", "--loops", "-1"}, wantStatus: exitUsage, wantStderr: []string{"--loops -1: must be 0 or more"}},
		{name: "BadFlag", args: []string{"serve", "echo", "--nosuch"}, wantStatus: exitUsage, wantStderr: []string{"proactor: serve: unknown flag --nosuch\nrun 'proactor serve -h' for usage\n"}, notStderr: []string{"Usage", "--listen"}},
		{name: "DurationWithoutUnit", args: []string{"serve", "echo", "--idle-timeout", "30"}, wantStatus: exitUsage, wantStderr: []string{"proactor: serve: --idle-timeout 30: missing unit, e.g. 30s"}},
		{name: "NotADuration", args: []string{"bench", "--duration", "soon"}, wantStatus: exitUsage, wantStderr: []string{"--duration soon: not a duration"}},
		{name: "NotANumber", args: []string{"serve", "echo", "--loops", "many"}, wantStatus: exitUsage, wantStderr: []string{"--loops many: not a whole number"}},
		{name: "MissingValue", args: []string{"dial", "--timeout"}, wantStatus: exitUsage, wantStderr: []string{"proactor: dial: --timeout needs a value"}},
		{name: "CompletionNoShell", args: []string{"completion", "tcsh"}, wantStatus: exitUsage, wantStderr: []string{"want one of: bash, zsh, fish"}},
		{name: "BadSize", args: []string{"serve", "echo", "--write-high", "lots"}, wantStatus: exitUsage, wantStderr: []string{"not a size"}},
		{name: "BadKeepAlive", args: []string{"serve", "echo", "--keepalive", "0"}, wantStatus: exitUsage, wantStderr: []string{"not a keepalive"}},
		{name: "BadCIDR", args: []string{"serve", "echo", "--deny", "nope"}, wantStatus: exitUsage, wantStderr: []string{"not a CIDR"}},
		{name: "ReusePortLeastConns", args: []string{"serve", "echo", "--reuse-port", "--least-conns"}, wantStatus: exitUsage, wantStderr: []string{"--least-conns"}},
		{name: "LowAboveHigh", args: []string{"serve", "echo", "--write-high", "1KiB", "--write-low", "2KiB"}, wantStatus: exitUsage, wantStderr: []string{"-write-low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if got := exitStatus(t, err); got != tt.wantStatus {
				t.Errorf("exit status %d, want %d; stderr:\n%s", got, tt.wantStatus, &stderr)
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, &stderr)
				}
			}
			for _, s := range tt.notStderr {
				if strings.Contains(stderr.String(), s) {
					t.Errorf("stderr has %q:\n%s", s, &stderr)
				}
			}
			if tt.wantStatus == exitOK && !strings.Contains(stdout.String(), "Usage:") {
				t.Errorf("help printed no usage on stdout:\n%s", &stdout)
			}
		})
	}
}

// exchange is a request and the whole reply a server must give to it.
type exchange struct{ send, want string }

// echoHello is the exchange of the echo servers.
var echoHello = exchange{send: "hello\n", want: "hello\n"}

// testServe runs the command with args, checks ex on each of its
// listeners, then stops it with SIGINT.
func testServe(t *testing.T, bin string, listeners int, ex exchange, args ...string) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := readLines(ctx, stdout)

	var conn net.Conn
	got := make([]byte, len(ex.want))
	for range listeners {
		addr := waitListening(t, ctx, lines)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, ex.send); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != ex.want {
			t.Fatalf("%q on %s returned %q, want %q", ex.send, addr, got, ex.want)
		}
		if conn != nil {
			conn.Close() // only the last one is watched through the shutdown
		}
		conn = c
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// A graceful shutdown closes the connection with a FIN; answering it
	// with ours ends the server's lingering close, which would otherwise
	// hold up the exit for the linger time.
	if n, err := conn.Read(got); !errors.Is(err, io.EOF) {
		t.Fatalf("after SIGINT, Read = %d, %v; want EOF", n, err)
	}
	conn.Close()
	stop := time.NewTimer(10 * time.Second)
	defer stop.Stop()
	var rest []string
	// Wait may only run once stdout is drained, or it could close the pipe
	// under the reader; EOF comes when the process exits.
	for drained := false; !drained; {
		select {
		case line, ok := <-lines:
			if ok {
				rest = append(rest, line)
			}
			drained = !ok
		case <-stop.C:
			// stderr may be read only once Wait has finished copying it.
			cmd.Process.Kill()
			cmd.Wait()
			exited = true
			t.Fatalf("process still running 10s after SIGINT; stderr:\n%s", &stderr)
		}
	}
	err = cmd.Wait()
	exited = true
	if got := exitStatus(t, err); got != exitOK {
		t.Fatalf("exit status %d after SIGINT, want 0; stderr:\n%s", got, &stderr)
	}
	if !slices.Contains(rest, "proactor: shutting down") {
		t.Errorf("stdout after SIGINT = %q, want a \"proactor: shutting down\" line", rest)
	}
}

// buildBinary builds the command into the test's temporary directory, so
// the tests run exactly what a user would.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build with: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "proactor")
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// readLines delivers r's lines on the returned channel, closed at EOF. It
// gives up when ctx ends, so a test that stopped listening leaks no goroutine.
func readLines(ctx context.Context, r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return lines
}

// waitListening returns the address of the first "listening on" line.
func waitListening(t *testing.T, ctx context.Context, lines <-chan string) string {
	t.Helper()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("stdout closed before a \"listening on\" line")
			}
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				return m[1]
			}
			t.Logf("stdout: %s", line)
		case <-ctx.Done():
			t.Fatal("no \"listening on\" line before the timeout")
		}
	}
}

// exitStatus returns the exit status Run or Wait reported through err.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("command did not run: %v", err)
	}
	return ee.ExitCode()
}
