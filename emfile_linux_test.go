package proactor_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
)

const emfileChildEnv = "PROACTOR_EMFILE_CHILD"

// TestAcceptUnderFDExhaustion runs an echo server in a child process with
// RLIMIT_NOFILE lowered to 40 and connects more clients than it has
// descriptors for: accept fails with EMFILE, the server backs off instead of
// spinning, keeps serving the connections it has, and accepts the waiting
// ones once descriptors free up.
func TestAcceptUnderFDExhaustion(t *testing.T) {
	if engine := os.Getenv(emfileChildEnv); engine != "" {
		emfileChild(engine)
		return
	}
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) { testEMFILE(t, engine) })
	}
}

type emfileChildProc struct {
	t      *testing.T
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

func (p *emfileChildProc) stats() proactor.Stats {
	p.t.Helper()
	fmt.Fprintln(p.stdin, "stats")
	if !p.stdout.Scan() {
		p.t.Fatalf("child gone: %v", p.stdout.Err())
	}
	var st proactor.Stats
	if err := json.Unmarshal(p.stdout.Bytes(), &st); err != nil {
		p.t.Fatalf("child stats %q: %v", p.stdout.Text(), err)
	}
	return st
}

func testEMFILE(t *testing.T, engine string) {
	const clients = 60
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptUnderFDExhaustion$")
	cmd.Env = append(os.Environ(), emfileChildEnv+"="+engine)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	child := &emfileChildProc{t: t, stdin: stdin, stdout: bufio.NewScanner(stdout)}
	if !child.stdout.Scan() {
		t.Fatalf("child printed no address")
	}
	addr := child.stdout.Text()

	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		c.Write([]byte("ping"))
		conns[i] = c
	}
	deadline := time.Now().Add(20 * time.Second)
	for child.stats().AcceptErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("accept never failed: %+v", child.stats())
		}
		time.Sleep(10 * time.Millisecond) // sampling another process's counters
	}
	time.Sleep(500 * time.Millisecond) // let a spinning server show itself
	st := child.stats()
	if st.AcceptErrors > 25 || st.Accepted >= clients {
		t.Fatalf("after 500 ms of EMFILE: %+v; want a backing-off server", st)
	}
	// The accepted clients have their echo; free their descriptors.
	waiting := conns[:0]
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Close()
		} else {
			waiting = append(waiting, c)
		}
	}
	if len(waiting) == 0 || len(waiting) == clients {
		t.Fatalf("%d of %d clients waiting; the limit should split them", len(waiting), clients)
	}
	for _, c := range waiting {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("a waiting client was never served: %q, %v", buf, err)
		}
	}
	if st := child.stats(); st.Accepted != clients {
		t.Fatalf("child stats %+v; want all %d accepted in the end", st, clients)
	}
}

// emfileChild is the server side: it serves echo with few descriptors and
// answers "stats" lines on stdin until stdin closes.
func emfileChild(engine string) {
	lim := syscall.Rlimit{Cur: 40, Max: 40}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	srv, err := proactor.NewServer(echo.Handler{}, proactor.WithEngineName(engine), proactor.WithLoops(1),
		proactor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		b, _ := json.Marshal(srv.Stats())
		fmt.Println(string(b))
	}
	srv.Close()
	os.Exit(0)
}
