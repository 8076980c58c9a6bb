package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/control"
)

// buildProactor builds cmd/proactor of the checkout root into dir, and
// returns the binary's path and the tree's commit, marked "+dirty" when it
// has uncommitted changes.
func buildProactor(root, dir string) (exe, commit string, err error) {
	exe = filepath.Join(dir, "proactor")
	build := exec.Command("go", "build", "-o", exe, "./cmd/proactor")
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/proactor in %s: %v\n%s", root, err, msg)
	}
	return exe, treeCommit(root), nil
}

// defaultTree is the checkout this program was built from: three levels
// above this file (bench/cmd/soak), if that holds the proactor module.
func defaultTree() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module github.com/seed487d475b/proactor\n")) {
		return ""
	}
	return root
}

// treeCommit is the checkout's HEAD, "+dirty" with the files that differ
// from it; "unknown" outside git.
func treeCommit(root string) string {
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(head))
	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return commit
	}
	var changed []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(status)), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			changed = append(changed, f[len(f)-1])
		}
	}
	const shown = 8
	switch {
	case len(changed) > shown:
		commit += fmt.Sprintf("+dirty (%d files uncommitted: %s and %d more)", len(changed), strings.Join(changed[:shown], ", "), len(changed)-shown)
	case len(changed) > 0:
		commit += "+dirty (uncommitted: " + strings.Join(changed, ", ") + ")"
	}
	return commit
}

// serverProc is one `proactor serve NAME` process. Only processes started
// here are ever signalled, by their PID.
type serverProc struct {
	name    string // echo, packet or line
	engine  string
	args    []string // the command line after the binary
	addr    string   // where it listens
	metrics string   // its /metrics URL
	ctl     *control.Client
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	log     *tailBuffer // stderr, the last bytes
	done    chan struct{}
	http    *http.Client
}

// startServer runs `exe serve NAME --engine ENGINE` on a free port with a
// metrics endpoint on another and its control socket in dir, with extra
// flags after the soak's own, and waits for all three to be announced.
func startServer(exe, name, engine, dir string, extra []string) (*serverProc, error) {
	sock := filepath.Join(dir, name+".sock")
	args := append([]string{"serve", name, "--engine", engine, "--listen", "127.0.0.1:0",
		"--metrics", "127.0.0.1:0", "--control", sock}, extra...)
	p := &serverProc{name: name, engine: engine, args: args, log: &tailBuffer{max: 16 << 10},
		done: make(chan struct{}),
		// No keep-alive: a connection kept between scrapes would be one
		// more descriptor in the server at some samples and not others.
		http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	p.cmd = exec.Command(exe, args...)
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// The server never reads its stdin; holding the pipe keeps nothing
	// alive, but it gives the child no terminal to steal.
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	ready := make(chan error, 1)
	go func() {
		ready <- p.readBanner(bufio.NewReader(stdout))
		io.Copy(io.Discard, stdout)
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("not listening within 10s")
	}
	if err != nil {
		// A server that refused its flags exits, and its banner ends with
		// the pipe: say that, rather than how the read failed.
		select {
		case <-p.done:
			err = fmt.Errorf("exited before listening (%v)", p.cmd.ProcessState)
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("serve %s --engine %s: %v; stderr: %s", name, engine, err, p.log)
	}
	p.ctl = control.NewClient(sock)
	return p, nil
}

// readBanner reads the server's first lines until it has announced its
// address, its control socket and its metrics URL.
func (p *serverProc) readBanner(r *bufio.Reader) error {
	var haveCtl bool
	for p.addr == "" || p.metrics == "" || !haveCtl {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading its banner: %w", err)
		}
		b := parseBanner(line)
		switch {
		case b.addr != "":
			p.addr = b.addr
		case b.metrics != "":
			p.metrics = b.metrics
		case b.control:
			haveCtl = true
		}
	}
	return nil
}

// banner is what one line of `proactor serve`'s output announces.
type banner struct {
	addr    string // "proactor: NAME listening on ADDR (engine ...)"
	metrics string // "proactor: metrics on URL"
	control bool   // "proactor: control on PATH"
}

func parseBanner(line string) banner {
	line = strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(line, "proactor: ")
	if !ok {
		return banner{}
	}
	if url, ok := strings.CutPrefix(rest, "metrics on "); ok {
		return banner{metrics: url}
	}
	if strings.HasPrefix(rest, "control on ") {
		return banner{control: true}
	}
	if _, after, ok := strings.Cut(rest, " listening on "); ok {
		addr, _, _ := strings.Cut(after, " ")
		return banner{addr: addr}
	}
	return banner{}
}

func (p *serverProc) pid() int { return p.cmd.Process.Pid }

// exited returns an error if the server has exited, with its stderr.
func (p *serverProc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s (%s) exited: %v; stderr: %s", p.name, p.engine, p.cmd.ProcessState, p.log)
	default:
		return nil
	}
}

// stop asks the server for a graceful shutdown (SIGTERM) and returns its
// exit status; it kills the process if it is still there after wait.
func (p *serverProc) stop(wait time.Duration) (code int, err error) {
	defer p.stdin.Close()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), errors.New("had exited already")
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(wait):
		p.kill()
		return -1, fmt.Errorf("still running %v after SIGTERM: killed", wait)
	}
}

func (p *serverProc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
	p.stdin.Close()
}

// sample is one look at the server process.
type sample struct {
	fds        int
	rss        int64 // bytes
	goroutines int
	active     int // connections open, from its Stats
}

// sample reads the process's descriptors and RSS first, then asks for its
// goroutines and counters: the scrape and the control request each open a
// connection to it, which must not be counted.
func (p *serverProc) sample(ctx context.Context) (sample, proactor.Stats, error) {
	var s sample
	var err1, err2, err3, err4 error
	s.fds, err1 = countFDs(p.pid())
	s.rss, err2 = procRSS(p.pid())
	s.goroutines, err3 = p.goroutines(ctx)
	st, err4 := p.status(ctx)
	s.active = st.Active
	return s, st, errors.Join(err1, err2, err3, err4)
}

func (p *serverProc) status(ctx context.Context) (proactor.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := p.ctl.Status(ctx)
	// Close the connection now, for the same reason as the scrapes.
	p.ctl.Close()
	if err != nil {
		return proactor.Stats{}, fmt.Errorf("control status: %w", err)
	}
	return st.Stats, nil
}

func (p *serverProc) goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", p.metrics, nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return parseGoroutines(body)
}

// parseGoroutines finds go_goroutines in a Prometheus text exposition.
func parseGoroutines(body []byte) (int, error) {
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, errors.New("no go_goroutines in the metrics")
}

// countFDs counts the process's open descriptors.
func countFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// procRSS is VmRSS from /proc/PID/status, in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
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
