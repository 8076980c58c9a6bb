package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/seed487d475b/proactor/internal/loadgen"
)

// result is one run: one load against one server in one round. Operations
// are messages for stream loads and connections for churn and idle.
type result struct {
	Server string `json:"server"`
	Load   string `json:"load"`
	Unit   string `json:"unit"`
	Round  int    `json:"round"`

	Ops     int64   `json:"ops"`     // completed in the window
	Seconds float64 `json:"seconds"` // the window
	Rate    float64 `json:"rate"`    // ops per second
	P50us   float64 `json:"p50_us"`  // stream: send to echo; churn and idle: connect to echo
	P99us   float64 `json:"p99_us"`
	P999us  float64 `json:"p999_us,omitempty"` // p99.9; absent from runs saved before it was kept

	CPUus      float64 `json:"server_cpu_us"`     // utime+stime in the window
	LoadCPU    float64 `json:"load_cpu_util"`     // the load generator's CPU time / wall time
	OtherUser  float64 `json:"other_user_util"`   // user CPU time of other processes / wall time
	OtherSys   float64 `json:"other_kernel_util"` // kernel CPU time outside both processes / wall time
	StealCPU   float64 `json:"steal_util"`        // CPU time stolen by the hypervisor / wall time
	Attempts   int     `json:"attempts"`          // runs made; more than 1 when interference voided some
	CPUPerOp   float64 `json:"server_cpu_us_per_op"`
	CPUUtil    float64 `json:"server_cpu_util"` // CPU time / wall time
	Instr      int64   `json:"server_instructions,omitempty"`
	InstrPerOp float64 `json:"server_instructions_per_op,omitempty"`
	// Under --callgrind: user-space instructions in the window (callgrind).
	UserInstr      int64   `json:"server_user_instructions,omitempty"`
	UserInstrPerOp float64 `json:"server_user_instructions_per_op,omitempty"`
	SyscallsPerOp  float64 `json:"server_syscalls_per_op,omitempty"`
	CtxSwPerOp     float64 `json:"server_context_switches_per_op,omitempty"`

	RSSBefore  int64   `json:"server_rss_before,omitempty"` // idle only
	RSSAfter   int64   `json:"server_rss_after,omitempty"`
	RSSPerConn float64 `json:"server_rss_per_conn,omitempty"`

	Failed       int64  `json:"failed,omitempty"` // churn cycles that failed
	FirstFailure string `json:"first_failure,omitempty"`
	Err          string `json:"error,omitempty"` // the run is void when set
}

// runConfig is what every run shares.
type runConfig struct {
	exe        string
	pin        bool
	perf       []string // events perf counts on this machine; none: no perf
	warmup     time.Duration
	duration   time.Duration
	settle     time.Duration // idle: wait before reading RSS
	cpuprofile string        // directory; empty: no profiles
	callgrind  string        // directory; empty: not under callgrind
	tls        bool          // TLS servers and TLS loads
	cfloor     string        // the C floor's binary, when a run needs it
}

// runOne starts a server, runs one load against it and stops it.
func runOne(cfg runConfig, kind string, spec loadSpec, round int) result {
	res := result{Server: kind, Load: spec.name(), Unit: spec.unit(), Round: round}
	name := fmt.Sprintf("%s-%s-r%d", kind, fileName(spec.name()), round)
	profile, cgPrefix := "", ""
	if cfg.cpuprofile != "" {
		profile = cfg.cpuprofile + "/" + name + ".pprof"
	}
	if cfg.callgrind != "" {
		cgPrefix = name
	}
	exe := cfg.exe
	if kind == "cfloor" {
		exe = cfg.cfloor
	}
	srv, err := startServer(exe, kind, cfg.tls, cfg.pin, profile, cfg.callgrind, cgPrefix)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer srv.stop()
	if spec.kind == idleLoad {
		err = runIdle(cfg, srv, spec, &res)
	} else {
		err = runTimed(cfg, srv, spec, &res)
	}
	if e := srv.exited(); e != nil {
		err = errors.Join(err, e)
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

// window measures the server between open and close: CPU time, wall time,
// operations, and the perf events that count here.
type window struct {
	srv      *serverProc
	run      *loadgen.Run
	cgPrefix string // under callgrind: its dumps' prefix
	cgOps0   int64
	perf     *perfStat
	perfOps0 int64
	cpu0     cpuSnapshot
	t0       time.Time
	ops0     int64
}

// openWindow starts perf (which needs a moment to attach, so it starts
// 100 ms early, inside the warm-up) and the profile, then reads the counters
// and moves the load into its measured phase.
func openWindow(cfg runConfig, srv *serverProc, run *loadgen.Run) (*window, error) {
	w := &window{srv: srv, run: run}
	if len(cfg.perf) > 0 {
		p, err := startPerf(srv.pid(), cfg.perf)
		if err != nil {
			return nil, err
		}
		w.perf, w.perfOps0 = p, run.Done()
		time.Sleep(100 * time.Millisecond)
	}
	if cfg.cpuprofile != "" {
		srv.signal(syscall.SIGUSR1)
	}
	if w.cgPrefix = srv.cgPrefix; w.cgPrefix != "" {
		var err error
		if w.cgOps0, err = callgrindAt("-z", srv.pid(), run); err != nil {
			return nil, err
		}
	}
	var err error
	if w.cpu0, err = takeCPU(srv.pid()); err != nil {
		return nil, err
	}
	w.t0, w.ops0 = time.Now(), run.Done()
	run.Measure()
	return w, nil
}

// close reads the counters, stops the load sending, and fills res.
func (w *window) close(cfg runConfig, res *result) error {
	ops1, t1 := w.run.Done(), time.Now()
	cpu1, err := takeCPU(w.srv.pid())
	if w.cgPrefix != "" {
		if ops1, cerr := callgrindAt("-d", w.srv.pid(), w.run); cerr != nil {
			err = errors.Join(err, cerr)
		} else if total, cerr := callgrindTotal(cfg.callgrind, w.cgPrefix, w.srv.pid()); cerr != nil {
			err = errors.Join(err, cerr)
		} else if ops := ops1 - w.cgOps0; ops > 0 {
			res.UserInstr, res.UserInstrPerOp = total, float64(total)/float64(ops)
		}
	}
	w.run.Stop()
	if cfg.cpuprofile != "" {
		w.srv.signal(syscall.SIGUSR2)
	}
	if w.perf != nil {
		perfOps := w.run.Done() - w.perfOps0
		counts, perr := w.perf.stop()
		if perr == nil && perfOps > 0 {
			per := func(ev string) float64 { return float64(counts[ev]) / float64(perfOps) }
			res.Instr, res.InstrPerOp = counts[evInstructions], per(evInstructions)
			res.SyscallsPerOp, res.CtxSwPerOp = per(evSyscalls), per(evCtxSwitches)
		}
		err = errors.Join(err, perr)
	}
	if err != nil {
		return err
	}
	res.Ops = ops1 - w.ops0
	res.Seconds = t1.Sub(w.t0).Seconds()
	res.Rate = float64(res.Ops) / res.Seconds
	res.cpu(w.cpu0, cpu1, res.Seconds)
	return nil
}

// quantiles fills the latency figures; call it once every worker has
// returned, since each adds its last samples on the way out.
func quantiles(r *loadgen.Run, res *result) {
	res.P50us = float64(r.Quantile(50).Nanoseconds()) / 1e3
	res.P99us = float64(r.Quantile(99).Nanoseconds()) / 1e3
	res.P999us = float64(r.Quantile(99.9).Nanoseconds()) / 1e3
}

// runTimed runs a stream or churn load: warm-up, a measured window of the
// configured duration, then a drain in which every message in flight is
// received and checked.
func runTimed(cfg runConfig, srv *serverProc, spec loadSpec, res *result) error {
	run, err := newLoadRun(spec, srv.addr, cfg.tls)
	if err != nil {
		return err
	}
	var conns []net.Conn
	if spec.kind == streamLoad {
		// Each connection round-trips one message before the load starts,
		// as in the idle load: the dials (64 at a time) then wait for the
		// server to accept and serve, and 10,000 of them cannot overflow
		// its listen backlog (a dropped handshake costs a retransmission of
		// a second or more, and the run would start with connections still
		// arriving).
		first := func(c net.Conn, id uint32) error {
			return firstTrip(run, c, id, spec.size)
		}
		if conns, err = run.DialAll(spec.conns, first); err != nil {
			return err
		}
		defer loadgen.CloseAll(conns)
	}
	wait := run.Start(conns, spec.conns) // churn: spec.conns workers
	time.Sleep(cfg.warmup)
	w, err := openWindow(cfg, srv, run)
	if err == nil {
		time.Sleep(cfg.duration)
		err = w.close(cfg, res)
	}
	run.Stop()
	// Bound the drain: a server that lost a message must not hang the run.
	drainBy := time.Now().Add(10 * time.Second)
	for _, c := range conns {
		c.SetDeadline(drainBy)
	}
	wait()
	quantiles(run, res)
	res.Failed = run.Failed()
	if e := run.Err(); e != nil {
		if spec.kind == streamLoad || errors.Is(e, loadgen.ErrMismatch) || res.Ops == 0 {
			err = errors.Join(err, e)
		} else {
			// A failed churn cycle (say, no free port) is counted, not fatal.
			res.FirstFailure = e.Error()
		}
	}
	return err
}

// runIdle opens spec.conns connections, round-trips one message on each and
// holds them; the figure is the growth of the server's RSS per connection.
// The server CPU and the rate are those of opening the connections.
func runIdle(cfg runConfig, srv *serverProc, spec loadSpec, res *result) error {
	run, err := newLoadRun(spec, srv.addr, cfg.tls)
	if err != nil {
		return err
	}
	time.Sleep(cfg.warmup) // let the server finish starting up
	if res.RSSBefore, err = procRSS(srv.pid()); err != nil {
		return err
	}
	cpu0, err := takeCPU(srv.pid())
	if err != nil {
		return err
	}
	t0 := time.Now()
	run.Measure()
	var latMu sync.Mutex
	var lat []int64
	conns, err := run.DialAll(spec.conns, func(c net.Conn, id uint32) error {
		start := time.Now()
		err := firstTrip(run, c, id, spec.size)
		latMu.Lock()
		lat = append(lat, int64(time.Since(start)))
		latMu.Unlock()
		return err
	})
	if err != nil {
		return err
	}
	defer loadgen.CloseAll(conns)
	elapsed := time.Since(t0)
	cpu1, err := takeCPU(srv.pid())
	if err != nil {
		return err
	}
	time.Sleep(cfg.settle)
	if res.RSSAfter, err = procRSS(srv.pid()); err != nil {
		return err
	}
	run.Record(lat)
	n := int64(len(conns))
	res.Ops, res.Seconds = n, elapsed.Seconds()
	res.Rate = float64(n) / res.Seconds
	res.cpu(cpu0, cpu1, res.Seconds)
	res.RSSPerConn = float64(res.RSSAfter-res.RSSBefore) / float64(n)
	quantiles(run, res)
	return nil
}

// firstTrip round-trips message 0 on a new connection, bounded so that a
// server that lost it fails the run instead of hanging it. A stream then
// starts its own sequence at 0 again: this reply has been read and checked
// by then.
func firstTrip(run *loadgen.Run, c net.Conn, id uint32, size int) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	err := run.RoundTrip(c, id, 0, make([]byte, 0, size))
	c.SetDeadline(time.Time{})
	return err
}

// fileName turns a load name into something safe in a file name.
func fileName(s string) string {
	b := []byte{}
	for _, r := range s {
		switch {
		case r == '×':
			b = append(b, 'x')
		case r == ' ':
			b = append(b, '-')
		case r < 128:
			b = append(b, byte(r))
		}
	}
	return string(b)
}

// cpu fills the CPU figures of a window of secs seconds from a to b; Ops
// must be set.
func (res *result) cpu(a, b cpuSnapshot, secs float64) {
	srv := b.server.sub(a.server).total()
	res.CPUus = float64(srv.Microseconds())
	res.CPUUtil = srv.Seconds() / secs
	if res.Ops > 0 {
		res.CPUPerOp = res.CPUus / float64(res.Ops)
	}
	res.LoadCPU = b.self.sub(a.self).total().Seconds() / secs
	user, sys, steal := a.outside(b)
	res.OtherUser, res.OtherSys, res.StealCPU = user.Seconds()/secs, sys.Seconds()/secs, steal.Seconds()/secs
}

// interference is the CPU that other processes and the hypervisor took
// during the window, as a fraction of one CPU.
func (res *result) interference() float64 { return res.OtherUser + res.StealCPU }
