package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// openPTY opens a pseudo-terminal: its master, to read what is written to
// its slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// TestBenchStatusTerminal: with stderr on a terminal, bench redraws one
// status line in place and clears it before the report.
func TestBenchStatusTerminal(t *testing.T) {
	_, addr := servertest.Start(t, echo.Handler{})
	master, slave := openPTY(t)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // until the slave closes (EIO)
		got <- b
	}()
	var out bytes.Buffer
	status := runBench([]string{"--conns", "2", "--warmup", "0s", "--duration", "600ms", "--progress", "100ms", addr}, &out, slave)
	slave.Close()
	tty := string(<-got)
	if status != exitOK {
		t.Fatalf("exit status %d: %q", status, tty)
	}
	if n := strings.Count(tty, "\rproactor bench: 64 B, measure "); n < 3 || strings.Contains(tty, "\n") || !strings.HasSuffix(tty, "\r\x1b[K") {
		t.Fatalf("want statuses redrawn in place (%d), no newline, the line cleared at the end: %q", n, tty)
	}
	if !strings.Contains(out.String(), "verified  every reply") {
		t.Fatalf("report:\n%s", &out)
	}
}
