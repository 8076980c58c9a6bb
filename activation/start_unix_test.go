//go:build unix

package activation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv switches the test binary into the child of these tests.
const childEnv = "ACTIVATION_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		os.Exit(child())
	case "exit":
		os.Exit(3)
	case "silent":
		time.Sleep(30 * time.Second)
		os.Exit(0)
	}
}

// child takes its listeners, reports on stdout what it was handed (the
// descriptors' close-on-exec flags, the variables left), says it is
// ready, then answers one connection on each listener with its name.
func child() int {
	var lns []Listener
	var report []string
	if os.Getenv("REPORT") != "" {
		files, err := Files()
		for i, f := range files {
			flags, err := unix.FcntlInt(uintptr(firstFD+i), unix.F_GETFD, 0)
			report = append(report, fmt.Sprintf("%s cloexec=%v err=%v", f.Name(), flags&unix.FD_CLOEXEC != 0, err))
		}
		if err != nil || len(files) == 0 {
			fmt.Println("error: files:", err)
			return 1
		}
		// Files unset the variables: Listeners finds none, and the
		// listeners are made here.
		if lns, err := Listeners(); len(lns) != 0 || err != nil {
			report = append(report, fmt.Sprintf("second call: %d, %v", len(lns), err))
		}
		for _, f := range files {
			ln, err := net.FileListener(f)
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			f.Close()
			lns = append(lns, Listener{Name: f.Name(), Listener: ln})
		}
	} else {
		var err error
		if lns, err = Listeners(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	for _, k := range []string{envPID, envFDs, envNames} {
		if v, ok := os.LookupEnv(k); ok {
			report = append(report, "left "+k+"="+v)
		}
	}
	if os.Getenv("REPORT") != "" {
		fmt.Println(strings.Join(report, "; "))
	}
	if _, err := Notify("READY=1"); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for _, ln := range lns {
		c, err := ln.Accept()
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		io.WriteString(c, ln.Name)
		c.Close()
		ln.Close()
	}
	return 0
}

// listenFiles opens n listeners on 127.0.0.1:0 and returns their
// addresses and duplicates to hand over.
func listenFiles(t *testing.T, n int) ([]string, []*os.File) {
	t.Helper()
	var addrs []string
	var files []*os.File
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		addrs = append(addrs, ln.Addr().String())
		files = append(files, f)
	}
	return addrs, files
}

// askName connects to addr and returns what the child answers.
func askName(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSystemdWay starts a child exactly as systemd does: the sockets as
// descriptors 3 and 4 (exec.Cmd's ExtraFiles), LISTEN_PID its own process
// ID, LISTEN_FDS and LISTEN_FDNAMES.
func TestSystemdWay(t *testing.T) {
	addrs, files := listenFiles(t, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", shell, os.Args[0], "-test.run=^$")
	cmd.ExtraFiles = files
	cmd.Env = append(withoutProtocol(os.Environ()), childEnv+"=serve", "REPORT=1",
		"LISTEN_FDS=2", "LISTEN_FDNAMES=web:admin")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if got := askName(t, addrs[0]); got != "web" {
		t.Errorf("first socket answered %q, want web", got)
	}
	if got := askName(t, addrs[1]); got != "admin" {
		t.Errorf("second socket answered %q, want admin", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, &out)
	}
	want := "web cloexec=true err=<nil>; admin cloexec=true err=<nil>\n"
	if out.String() != want {
		t.Fatalf("child reported %q, want %q", &out, want)
	}
}

// TestStart hands a socket over with Start: the child answers on it once
// ready, and the socket stays non-blocking for this process, which shares
// it.
func TestStart(t *testing.T) {
	addrs, files := listenFiles(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	pid, err := Start(ctx, Child{
		Path: os.Args[0], Args: []string{"-test.run=^$"}, Files: files, Names: []string{"web"},
		Env: append(os.Environ(), childEnv+"=serve"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := askName(t, addrs[0]); got != "web" {
		t.Errorf("child answered %q, want web", got)
	}
	rc, _ := files[0].SyscallConn()
	rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK == 0 {
			t.Errorf("the shared socket is blocking after Start (flags %#x, %v)", fl, err)
		}
	})
	if pid <= 0 {
		t.Errorf("pid %d", pid)
	}
}

// TestStartFails: a child that exits, and one that never says it is
// ready, are errors, and the second is killed.
func TestStartFails(t *testing.T) {
	for _, tt := range []struct {
		mode, want string
	}{
		{mode: "exit", want: "exited before it was ready: exit status 3"},
		{mode: "silent", want: "not ready"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			_, files := listenFiles(t, 1)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			_, err := Start(ctx, Child{Path: os.Args[0], Args: []string{"-test.run=^$"}, Files: files,
				Env: append(os.Environ(), childEnv+"="+tt.mode)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("Start took %v", d)
			}
		})
	}
	if _, err := Start(t.Context(), Child{Path: "/nonexistent", Files: nil, Names: []string{"x"}}); err == nil {
		t.Fatal("Start with more names than files: no error")
	}
}
