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
	kind  string
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it tells the server its parent is gone
	log   *tailBuffer
	done  chan struct{}
}

// startServer runs `exe server KIND`. With pin it runs on CPU 0 with
// GOMAXPROCS=1: under taskset when it is installed (the mask holds from
// exec), or else the server pins its own threads at start.
func startServer(exe, kind string, pin bool, profile string) (*serverProc, error) {
	args := []string{"server"}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	name := exe
	if pin {
		if ts, err := exec.LookPath("taskset"); err == nil {
			name = ts
			args = append([]string{"-c", "0", exe}, args...)
		} else {
			args = append(args, "--cpu", "0")
		}
	}
	args = append(args, kind)
	cmd := exec.Command(name, args...)
	cmd.Env = os.Environ()
	if pin {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	p := &serverProc{kind: kind, cmd: cmd, log: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
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
	case <-time.After(10 * time.Second):
		err = errors.New("no address within 10s")
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
