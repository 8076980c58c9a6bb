//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/internal/sockopt"
)

// TestSocketActivation starts serve exactly as systemd does: the
// listening sockets as descriptors 3 onwards (exec.Cmd's ExtraFiles),
// LISTEN_PID set to the process's own ID, LISTEN_FDS, LISTEN_FDNAMES,
// NOTIFY_SOCKET. It takes the sockets in order, in place of its
// addresses, serves them, says READY=1, and STOPPING=1 when it stops.
// Two sockets on one address are a SO_REUSEPORT group, both served.
func TestSocketActivation(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		name      string
		reusePort bool // the second socket shares the first's address
		args      []string
		ex        exchange
	}{
		{name: "Dual", args: []string{"serve", "dual", "--loops", "1"}, ex: echoHello},
		{name: "LineOptions", args: []string{"serve", "line", "--loops", "1"},
			ex: exchange{send: "ECHO a\nECHO b\r\n", want: "+OK a\r\n+OK b\r\n"}},
		{name: "ReusePortGroup", reusePort: true, args: []string{"serve", "echo", "--loops", "2"}, ex: echoHello},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lc := net.ListenConfig{}
			if tt.reusePort {
				lc.Control = sockopt.ReusePort
			}
			var files []*os.File
			var addrs []string
			for i := range 2 {
				addr := "127.0.0.1:0"
				if tt.reusePort && i == 1 {
					addr = addrs[0]
				}
				ln, err := lc.Listen(t.Context(), "tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				f, err := ln.(*net.TCPListener).File()
				ln.Close() // the file keeps the socket open
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				files = append(files, f)
				addrs = append(addrs, ln.Addr().String())
			}
			notify := filepath.Join(t.TempDir(), "notify")
			ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()

			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, bin},
				append(tt.args, "--control", "off")...)...)
			cmd.ExtraFiles = files
			cmd.Env = append(os.Environ(), "LISTEN_FDS=2", "LISTEN_FDNAMES=proactor.socket:proactor.socket", "NOTIFY_SOCKET="+notify)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					cmd.Wait()
				}
			}()
			lines := readLines(ctx, stdout)
			want := addrs
			if tt.reusePort {
				want = addrs[:1]
			}
			for _, a := range want {
				if got := waitListening(t, ctx, lines); got != a {
					t.Fatalf("listening on %s, want the inherited %s", got, a)
				}
			}
			if line := <-lines; line != "proactor: "+tt.args[1]+" took over 2 inherited sockets" {
				t.Fatalf("line %q", line)
			}
			readNotify := func(want string) {
				t.Helper()
				ns.SetReadDeadline(time.Now().Add(testTimeout))
				buf := make([]byte, 256)
				n, err := ns.Read(buf)
				if err != nil || string(buf[:n]) != want {
					t.Fatalf("notification %q, %v; want %q", buf[:n], err, want)
				}
			}
			readNotify("READY=1")
			for i := range 8 { // over a group, the kernel picks the socket
				c, err := net.DialTimeout("tcp", addrs[i%len(want)], 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if tt.args[1] == "line" {
					if _, err := bufioLine(c); err != nil { // the greeting
						t.Fatal(err)
					}
				}
				io.WriteString(c, tt.ex.send)
				got := make([]byte, len(tt.ex.want))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != tt.ex.want {
					t.Fatalf("%s: %q, %v; want %q", c.RemoteAddr(), got, err, tt.ex.want)
				}
				c.Close()
			}
			cmd.Process.Signal(os.Interrupt)
			readNotify("STOPPING=1")
			for range lines {
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v; stderr:\n%s", err, &stderr)
			}
		})
	}
}

// bufioLine reads up to and including a LF, a byte at a time (the rest
// stays in c).
func bufioLine(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := c.Read(one); err != nil {
			return string(b), err
		}
		b = append(b, one[0])
		if one[0] == '\n' {
			return string(b), nil
		}
	}
}
