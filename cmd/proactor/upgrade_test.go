//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// family is a serve process and those that upgrades start from it: they
// share its stdout and stderr, which end only when the last one exits.
type family struct {
	cmd    *exec.Cmd
	lines  <-chan string
	stderr string // a file
	pids   []int  // every process of the family, killed at the test's end
}

// startFamily starts the binary with stdout and stderr on files of its
// own (not pipes copied by this process), so that an upgraded process,
// which inherits them, writes there after the first has exited.
func startFamily(t *testing.T, bin string, args ...string) *family {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errPath := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	f := &family{cmd: exec.Command(bin, args...), stderr: errPath}
	f.cmd.Stdout, f.cmd.Stderr = w, ef
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ef.Close()
	f.pids = append(f.pids, f.cmd.Process.Pid)
	t.Cleanup(func() {
		cancel()
		for _, pid := range f.pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if f.cmd.ProcessState == nil {
			f.cmd.Wait()
		}
		r.Close()
	})
	f.lines = readLines(ctx, r)
	return f
}

func (f *family) stderrText() string {
	b, _ := os.ReadFile(f.stderr)
	return string(b)
}

// waitLine returns the first line matching re, or fails the test.
func (f *family) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-f.lines:
			if !ok {
				t.Fatalf("stdout closed before a line matching %s; stderr:\n%s", re, f.stderrText())
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout.C:
			t.Fatalf("no line matching %s", re)
		}
	}
}

// waitGone waits until every process of the family has closed stdout:
// they have all exited.
func (f *family) waitGone(t *testing.T) {
	t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-f.lines:
			if !ok {
				return
			}
		case <-timeout.C:
			t.Fatalf("still running; stderr:\n%s", f.stderrText())
		}
	}
}

var (
	controlRE  = regexp.MustCompile(`^proactor: control on (\S+)$`)
	upgradedRE = regexp.MustCompile(`^proactor: upgraded: pid (\d+) \(.*\) accepts now; pid (\d+) drains and exits$`)
	takeOverRE = regexp.MustCompile(`^proactor: \w+ took over (\d+) inherited sockets?$`)
)

// benchProc is a `proactor bench --json` running in the background.
type benchProc struct {
	cmd     *exec.Cmd
	out     bytes.Buffer
	started chan struct{} // closed at its first progress report: the load runs
	errBuf  bytes.Buffer
}

func startBench(t *testing.T, bin string, args ...string) *benchProc {
	t.Helper()
	b := &benchProc{started: make(chan struct{})}
	b.cmd = exec.CommandContext(t.Context(), bin, append([]string{"bench", "--json", "--warmup", "0", "--progress", "100ms"}, args...)...)
	b.cmd.Stdout = &b.out
	pr, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		first := true
		for {
			n, err := pr.Read(buf)
			b.errBuf.Write(buf[:n])
			if n > 0 && first {
				close(b.started)
				first = false
			}
			if err != nil {
				if first {
					close(b.started)
				}
				return
			}
		}
	}()
	return b
}

// check waits for the bench and fails the test unless every connection
// was made and every reply came back right.
func (b *benchProc) check(t *testing.T, what string) benchReport {
	t.Helper()
	err := b.cmd.Wait()
	var reps []benchReport
	if jerr := json.Unmarshal(b.out.Bytes(), &reps); jerr != nil || len(reps) != 1 {
		t.Fatalf("%s: exit %v, report %q (%v); stderr:\n%s", what, err, b.out.String(), jerr, b.errBuf.String())
	}
	rep := reps[0]
	if err != nil || rep.Failed != 0 || rep.Error != "" || rep.Ops == 0 {
		t.Fatalf("%s through the upgrade: exit %v, %d ops, %d failed, error %q", what, err, rep.Ops, rep.Failed, rep.Error)
	}
	t.Logf("%s through the upgrade: %d %s (%.0f/s), 0 failed, every reply checked; p99 %.0fµs, max %.0fµs",
		what, rep.Ops, rep.Unit, rep.Rate, rep.P99us, rep.MaxUs)
	return rep
}

// TestUpgradeUnderLoad upgrades a server on every engine while `proactor
// bench` churns connections (connect, one message, close) and keeps long
// streams open across it: no connection is refused, no reply is lost or
// wrong; the old process drains the streams it holds and exits 0, the new
// one serves on the same address and control socket.
func TestUpgradeUnderLoad(t *testing.T) {
	bin := buildBinary(t)
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "c.sock")
			f := startFamily(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "2", "--engine", engine,
				"--control", sock, "--upgrade-drain", "20s")
			addr := f.waitLine(t, listeningRE)[1]
			f.waitLine(t, controlRE)

			streams := startBench(t, bin, "--conns", "4", "--depth", "4", "--size", "1KiB", "--duration", "3s", addr)
			churn := startBench(t, bin, "--churn", "--conns", "4", "--duration", "3s", addr)
			<-streams.started
			<-churn.started

			out, _ := runProactor(t, bin, exitOK, "ctl", "--control", sock, "upgrade", "--ready-timeout", "20s")
			m := upgradedRE.FindStringSubmatch(strings.TrimSpace(out))
			if m == nil {
				t.Fatalf("ctl upgrade said %q", out)
			}
			newPID, _ := strconv.Atoi(m[1])
			f.pids = append(f.pids, newPID)
			if oldPID, _ := strconv.Atoi(m[2]); oldPID != f.cmd.Process.Pid {
				t.Fatalf("old pid %d, want %d", oldPID, f.cmd.Process.Pid)
			}
			if n := f.waitLine(t, takeOverRE)[1]; n != "1" { // the listening socket (the control socket: below)
				t.Fatalf("the new process took over %s listening sockets, want 1", n)
			}

			streams.check(t, "streams")
			churn.check(t, "churn")
			// The old process has drained its streams (the bench closed
			// them) and exits by itself.
			if err := f.cmd.Wait(); err != nil {
				t.Fatalf("old process: %v; stderr:\n%s", err, f.stderrText())
			}

			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			echoOnce(t, c, "after the upgrade")
			c.Close()
			st := ctlStats(t, bin, sock)
			if st.PID != newPID || st.Stats.Accepted == 0 {
				t.Fatalf("the control socket answers for pid %d (want %d), accepted %d", st.PID, newPID, st.Stats.Accepted)
			}
			if err := syscall.Kill(newPID, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			f.waitGone(t)
			if _, err := os.Lstat(sock); err == nil {
				t.Fatal("control socket left after the new process stopped")
			}
		})
	}
}

// TestUpgradeFails: a new binary that exits, or never says it is ready,
// leaves the old process serving, and ctl upgrade says why.
func TestUpgradeFails(t *testing.T) {
	bin := buildBinary(t)
	silent := filepath.Join(t.TempDir(), "silent")
	if err := os.WriteFile(silent, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "c.sock")
	f := startFamily(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1", "--control", sock)
	addr := f.waitLine(t, listeningRE)[1]
	f.waitLine(t, controlRE)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{name: "Exits", args: []string{"--binary", "/bin/false"}, want: "/bin/false exited before it was ready: exit status 1"},
		{name: "Missing", args: []string{"--binary", "/nonexistent/proactor"}, want: "exited before it was ready"},
		{name: "NeverReady", args: []string{"--binary", silent, "--ready-timeout", "1s"}, want: "not ready"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr := runProactor(t, bin, exitError, append([]string{"ctl", "--control", sock, "upgrade"}, tt.args...)...)
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("ctl upgrade: %q, want %q", stderr, tt.want)
			}
			echoOnce(t, c, "still here")
			c2, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			echoOnce(t, c2, "new connection")
			c2.Close()
			if st := ctlStats(t, bin, sock); st.PID != f.cmd.Process.Pid || st.Paused {
				t.Fatalf("after a failed upgrade: pid %d (want %d), paused %v", st.PID, f.cmd.Process.Pid, st.Paused)
			}
		})
	}
	c.Close()
	f.cmd.Process.Signal(os.Interrupt)
	f.waitGone(t)
	if err := f.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, f.stderrText())
	}
}

func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// ctlStatus is the part of `ctl stats --json` these tests read.
type ctlStatus struct {
	PID    int  `json:"pid"`
	Paused bool `json:"paused"`
	Stats  struct {
		Accepted int64 `json:"accepted"`
	} `json:"stats"`
}

func ctlStats(t *testing.T, bin, sock string) ctlStatus {
	t.Helper()
	out, _ := runProactor(t, bin, exitOK, "ctl", "--control", sock, "stats", "--json")
	var st ctlStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	return st
}
