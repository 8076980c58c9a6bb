package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

var udpListeningRE = regexp.MustCompile(`^proactor: udp-echo listening on (\S+)/udp \(engine \w+, \d+ loops?\)$`)

// TestServeUDPEcho runs `proactor serve udp-echo` on every engine: a
// datagram comes back, SIGINT stops it with status 0, and it reports its
// counters. Flags of the TCP servers are refused, and --packet-size is
// refused for them.
func TestServeUDPEcho(t *testing.T) {
	bin := buildBinary(t)
	for _, engine := range append([]string{"auto"}, proactor.Engines()...) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, "serve", "udp-echo", "--listen", "127.0.0.1:0", "--loops", "1", "--engine", engine, "--packet-size", "1500")
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			lines := readLines(ctx, stdout)
			var addr string
			for addr == "" {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("no listening line; stderr:\n%s", &stderr)
					}
					if m := udpListeningRE.FindStringSubmatch(line); m != nil {
						addr = m[1]
					}
				case <-ctx.Done():
					t.Fatal("no listening line before the timeout")
				}
			}
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("hello"))
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("echo %q, %v", buf[:n], err)
			}
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for line := range lines {
				rest = append(rest, line)
			}
			if err := cmd.Wait(); exitStatus(t, err) != exitOK {
				t.Fatalf("exit %v; stderr:\n%s", err, &stderr)
			}
			if !slices.Contains(rest, "proactor: shutting down") ||
				!slices.ContainsFunc(rest, func(s string) bool { return strings.Contains(s, "1 datagrams received, 1 sent, 0 truncated") }) {
				t.Fatalf("stdout after SIGINT: %q", rest)
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"TCPFlag", []string{"serve", "udp-echo", "--max-conns", "5"}, "--max-conns: not for the udp-echo server"},
		{"PacketSizeOnTCP", []string{"serve", "echo", "--packet-size", "100"}, "--packet-size: not for the echo server"},
		{"BadPacketSize", []string{"serve", "udp-echo", "--packet-size", "70000"}, "invalid --packet-size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stderr = &stderr
			if got := exitStatus(t, cmd.Run()); got != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %d and %q", got, &stderr, exitUsage, tc.want)
			}
		})
	}
}
