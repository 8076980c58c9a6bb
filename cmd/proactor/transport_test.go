package main

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/proxyproto"
)

// TestServeUnixProxy runs `serve echo` on a unix socket behind the PROXY
// protocol, as behind a balancer on the same host: the socket file has the
// mode asked for, a second server leaves the live socket alone, ctl stats
// counts the headers, and the file is gone after the server exits.
func TestServeUnixProxy(t *testing.T) {
	bin := buildBinary(t)
	dir, err := os.MkdirTemp("", "pt") // short: sun_path holds 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path, ctlSock := filepath.Join(dir, "echo.sock"), filepath.Join(dir, "ctl.sock")
	cmd, lines := startServe(t, bin, "serve", "echo", "--listen", "unix:"+path, "--unix-mode", "0600",
		"--proxy-protocol", "--proxy-header-timeout", "2s", "--loops", "1", "--control", ctlSock)
	if got := waitListening(t, t.Context(), lines); got != path {
		t.Fatalf("listening on %q, want %q", got, path)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file %v, %v; want a socket of mode 0600", fi.Mode(), err)
	}

	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	src, dst := netip.MustParseAddrPort("192.0.2.7:40000"), netip.MustParseAddrPort("192.0.2.1:7")
	c.Write(append(proxyproto.AppendV2(nil, proxyproto.Proxy, src, dst), "hello"...))
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("echo %q, %v", got, err)
	}
	bad, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(bad, "no header here\r\n")
	if b, _ := io.ReadAll(bad); len(b) != 0 {
		t.Fatalf("a client without a header got %q", b)
	}
	out, _ := runProactor(t, bin, exitOK, "ctl", "--control", ctlSock, "stats")
	if !strings.Contains(out, "1 PROXY headers; 1 malformed or missing, 0 timed out") {
		t.Fatalf("ctl stats:\n%s", out)
	}

	// A second server finds the socket live and fails rather than take it.
	_, errOut := runProactor(t, bin, exitError, "serve", "echo", "--listen", "unix:"+path, "--control", "off")
	if !strings.Contains(errOut, "in use") {
		t.Fatalf("second server: %q", errOut)
	}
	c.Close()
	stopServe(t, cmd, lines)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file after exit: %v", err)
	}
	if _, errOut := runProactor(t, bin, exitUsage, "serve", "echo", "--unix-mode", "0444"); !strings.Contains(errOut, "unable to connect") {
		t.Fatalf("--unix-mode 0444: %q", errOut)
	}
}
