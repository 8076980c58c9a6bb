package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// serverProc is one echo server process started by the benchmark. Only
// processes started here are ever signalled, by their PID.
type serverProc struct {
	kind     string
	addr     string
	cmd      *exec.Cmd
	cgPrefix string         // under callgrind: the prefix of its dumps
	stdin    io.WriteCloser // closing it tells the server its parent is gone
	log      *tailBuffer
	done     chan struct{}
}

// startServer runs `exe server KIND` (for cfloor, exe is the C binary and
// runs alone). With pin it runs on CPU 0 with
// GOMAXPROCS=1: under taskset when it is installed (the mask holds from
// exec), or else the server pins its own threads at start.
// With cgPrefix it runs under callgrind, dumping into cgDir.
func startServer(exe, kind string, withTLS, pin bool, profile, cgDir, cgPrefix string) (*serverProc, error) {
	args := []string{"server"}
	if withTLS {
		args = append(args, "--tls")
	}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	_, tserr := exec.LookPath("taskset")
	if pin && tserr != nil {
		args = append(args, "--cpu", "0")
	}
	argv := append([]string{exe}, append(args, kind)...)
	if kind == "cfloor" {
		argv = []string{exe} // the C binary: no flags, no kind
	}
	// taskset, then valgrind, then the server: each execs the next in the
	// same process, so the server's PID is the one callgrind_control
	// addresses.
	if cgPrefix != "" {
		argv = callgrindWrap(cgDir, cgPrefix, argv)
	}
	if pin && tserr == nil {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	if pin {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	if cgPrefix != "" {
		// callgrind asserts on the signals of Go's asynchronous preemption
		// (valgrind 3.19); the servers here never need it. Nor does
		// valgrind 3.19 know RDTSCP, which the runtime's cputicks uses
		// where the CPU has it: a contended runtime lock now and then
		// reached it and the server died of SIGILL ("panic during panic"),
		// in about half the runs on a busy machine. RDTSC does instead.
		cmd.Env = append(cmd.Env, "GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off")
	}
	p := &serverProc{kind: kind, cmd: cmd, cgPrefix: cgPrefix, log: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.done) }()
	addrc := make(chan error, 1)
	go func() {
		var err error
		p.addr, err = readAddr(bufio.NewReader(stdout))
		addrc <- err
		io.Copy(io.Discard, stdout)
	}()
	select {
	case err = <-addrc:
	case <-time.After(30 * time.Second): // valgrind takes seconds to start one
		err = errors.New("no address within 30s")
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("server %s: %v; stderr: %s", kind, err, p.log)
	}
	return p, nil
}

func (p *serverProc) pid() int { return p.cmd.Process.Pid }

// signal sends sig to the server unless it has exited.
func (p *serverProc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(sig)
	}
}

// exited reports whether the server died, with its stderr.
func (p *serverProc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("server %s exited: %v; stderr: %s", p.kind, p.cmd.ProcessState, p.log)
	default:
		return nil
	}
}

// stop asks the server to exit (SIGTERM, which also flushes a profile) and
// kills it if it is still there after 3 s.
func (p *serverProc) stop() {
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.stdin.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) == 0 {
		return "(empty)"
	}
	return strconv.Quote(string(t.b))
}
