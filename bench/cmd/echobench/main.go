// Command echobench runs the same loads against several echo servers, one
// after another, in several interleaved rounds, and prints a markdown table
// of the medians.
//
// Each server is a separate process (this binary re-executed as
// `echobench server KIND`, which prints its address); the load generator
// runs in this process. The servers are proactor on its epoll and std
// engines (examples/echo.Handler), Go's net package with a goroutine per
// connection (the baseline of every ratio unless --baseline names another),
// cloudwego/netpoll, gnet v2 and nbio (peers.go). With
// --tls they serve TLS (proactor, Go's net + crypto/tls, nbio; tls.go).
//
//	echobench                  # the full benchmark (a few minutes)
//	echobench --quick          # a smoke run, well under a minute
//	echobench --servers proactor-epoll,gonet --loads 1000x64Bx1 --rounds 5
//	echobench --tls            # TLS echo servers and loads
//	echobench --baseline gnet  # ratios against gnet, and issue 14's targets (targets.go)
//
// Linux only: it reads /proc, pins with sched_setaffinity or taskset and
// counts instructions, system calls and context switches with perf where
// perf counts them.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		os.Exit(serverMain(os.Args[2:]))
	}
	os.Exit(benchMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags of a benchmark run.
type options struct {
	quick     bool
	rounds    int
	servers   []string
	loads     []loadSpec
	out       string
	jsonOut   string
	perfMode  string
	quietWait time.Duration
	fromJSON  string
	maxInterf float64
	retries   int
	baseline  string
	// baselineSet: --baseline was given (else a saved report keeps its own)
	baselineSet bool
	runConfig
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("echobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 300ms windows, 1 round, fewer connections, 1s quiet wait, no retries")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured window of each run")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured load before each window")
	fs.DurationVar(&o.settle, "settle", 500*time.Millisecond, "idle load: wait before reading the server's RSS")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each runs every load against every server in turn")
	fs.BoolVar(&o.tls, "tls", false, "TLS echo servers ("+strings.Join(tlsKinds, ", ")+") and TLS loads: 1000×64B×1, 10×16KiB×4, churn (a full handshake per connection), idle 10000")
	fs.BoolVar(&o.pin, "pin", true, "server on CPU 0 with GOMAXPROCS=1, load generator on CPU 1 with GOMAXPROCS=1")
	servers := fs.String("servers", strings.Join(defaultServers(), ","), "servers, comma-separated, of "+strings.Join(append(serverKinds, extraKinds...), ", "))
	loads := fs.String("loads", "", "loads, comma-separated names as in the table (x for ×; churn; idle); default all")
	fs.StringVar(&o.perfMode, "perf", "auto", "count server instructions, syscalls and context switches with perf stat: auto (those that work here) or off")
	fs.DurationVar(&o.quietWait, "quiet-wait", 5*time.Second, "before each run, wait up to this long for the machine to be nearly idle (0: do not wait)")
	fs.Float64Var(&o.maxInterf, "max-interference", 0.15, "run again when other processes' user CPU plus steal passed this fraction of one CPU during the window")
	fs.IntVar(&o.retries, "retries", 2, "at most this many extra attempts per run because of interference; the quietest attempt is kept")
	fs.StringVar(&o.baseline, "baseline", defaultBaseline, "the server every ratio refers to; with gnet, the report also checks issue 14's targets")
	fs.StringVar(&o.fromJSON, "from-json", "", "run nothing: render the report of runs saved earlier with --json; two files, comma-separated, of one run with --callgrind and one without, render one report whose targets table takes instructions from the first and the rest from the second")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&o.jsonOut, "json", "", "write every run's figures as JSON to this file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each server's measured window into this directory (perturbs the figures)")
	fs.StringVar(&o.callgrind, "callgrind", "", "run the servers under valgrind's callgrind, dumping into this directory, and compare user-space instructions per operation (times and rates then mean nothing; idle is skipped)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	all := fullLoads
	if o.tls {
		all = tlsLoads
	}
	if o.quick {
		all = quickLoads
		if o.tls {
			all = quickTLSLoads
		}
		for name, d := range map[string]struct {
			v   *time.Duration
			val time.Duration
		}{
			"duration":   {&o.duration, 300 * time.Millisecond},
			"warmup":     {&o.warmup, 100 * time.Millisecond},
			"settle":     {&o.settle, 100 * time.Millisecond},
			"quiet-wait": {&o.quietWait, time.Second},
		} {
			if !set[name] {
				*d.v = d.val
			}
		}
		if !set["retries"] {
			o.retries = 0
		}
		if !set["rounds"] {
			o.rounds = 1
		}
	}
	if o.rounds < 1 || o.duration <= 0 {
		return nil, fmt.Errorf("--rounds and --duration must be positive")
	}
	if o.tls && !set["servers"] {
		*servers = strings.Join(defaultTLSServers(), ",")
	}
	for _, s := range strings.Split(*servers, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if o.tls && !contains(tlsKinds, s) {
			return nil, fmt.Errorf("no TLS server %q (have %s)", s, strings.Join(tlsKinds, ", "))
		}
		if !o.tls && !contains(serverKinds, s) && !contains(extraKinds, s) {
			return nil, fmt.Errorf("unknown server %q (have %s)", s, strings.Join(append(serverKinds, extraKinds...), ", "))
		}
		o.servers = append(o.servers, s)
	}
	if len(o.servers) == 0 {
		return nil, fmt.Errorf("no server")
	}
	for _, l := range all {
		if *loads == "" {
			o.loads = append(o.loads, l)
			continue
		}
		for _, want := range strings.Split(*loads, ",") {
			if matchLoad(l, strings.TrimSpace(want)) {
				o.loads = append(o.loads, l)
				break
			}
		}
	}
	if len(o.loads) == 0 {
		var names []string
		for _, l := range all {
			names = append(names, l.name())
		}
		return nil, fmt.Errorf("no load matches %q (have %s)", *loads, strings.Join(names, ", "))
	}
	if o.callgrind != "" {
		if err := callgrindCheck(); err != nil {
			return nil, err
		}
		// RSS under valgrind says nothing about the server.
		o.loads = slices.DeleteFunc(o.loads, func(l loadSpec) bool { return l.kind == idleLoad })
		if len(o.loads) == 0 {
			return nil, fmt.Errorf("--callgrind measures timed loads only, not idle")
		}
		// valgrind 3.19 does not run io_uring: the server never starts.
		if contains(o.servers, "proactor-uring") {
			fmt.Fprintln(stderr, "echobench: --callgrind leaves out proactor-uring (io_uring does not run under valgrind)")
			o.servers = slices.DeleteFunc(o.servers, func(s string) bool { return s == "proactor-uring" })
		}
		if len(o.servers) == 0 {
			return nil, fmt.Errorf("no server to run under callgrind")
		}
	}
	o.baselineSet = set["baseline"]
	if !contains(serverKinds, o.baseline) && !contains(extraKinds, o.baseline) {
		return nil, fmt.Errorf("--baseline %q is no server (have %s)", o.baseline, strings.Join(append(serverKinds, extraKinds...), ", "))
	}
	// A baseline that does not run would leave every ratio empty; the
	// default, as before, may be left out.
	if set["baseline"] && o.fromJSON == "" && !contains(o.servers, o.baseline) {
		return nil, fmt.Errorf("--baseline %s is not among --servers", o.baseline)
	}
	if o.perfMode != "auto" && o.perfMode != "off" {
		return nil, fmt.Errorf("--perf is auto or off")
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func benchMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "echobench:", err)
		}
		return 2
	}
	var rep *report
	if o.fromJSON != "" {
		rep, err = loadReports(strings.Split(o.fromJSON, ","))
	} else {
		rep, err = run(o, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "echobench:", err)
		return 1
	}
	if o.baselineSet {
		rep.Baseline = o.baseline // re-rendering a saved run against another server
	}
	var md bytes.Buffer
	rep.markdown(&md)
	stdout.Write(md.Bytes())
	if o.out != "" {
		if err := os.WriteFile(o.out, md.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "echobench:", err)
			return 1
		}
	}
	if o.jsonOut != "" && o.fromJSON == "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "echobench:", err)
			return 1
		}
	}
	if rep.failures() > 0 {
		fmt.Fprintf(stderr, "echobench: %d runs failed (see the report)\n", rep.failures())
		return 1
	}
	return 0
}

// run prepares this process (descriptor limit, pinning), then runs every
// load against every server, round after round.
func run(o *options, progress io.Writer) (*report, error) {
	if err := raiseNofile(); err != nil {
		return nil, fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	o.exe = exe
	if slices.Contains(o.servers, "cfloor") {
		dir, err := os.MkdirTemp("", "echobench-cfloor")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if o.cfloor, err = buildCFloor(dir); err != nil {
			return nil, err
		}
	}
	if o.pin && runtime.NumCPU() < 2 {
		fmt.Fprintln(progress, "echobench: one CPU, running unpinned")
		o.pin = false
	}
	if o.pin {
		if err := pinProcess(1); err != nil {
			return nil, err
		}
		runtime.GOMAXPROCS(1)
	}
	for _, dir := range []string{o.cpuprofile, o.callgrind} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
	}
	rep := &report{Machine: describeMachine(o), Servers: o.servers, Rounds: o.rounds,
		Duration: o.duration.String(), Warmup: o.warmup.String(), Quick: o.quick, MaxInterference: o.maxInterf,
		Callgrind: o.callgrind != "", TLS: o.tls, Baseline: o.baseline}
	o.perf = rep.Machine.Events
	for _, l := range o.loads {
		rep.Loads = append(rep.Loads, l.name())
	}

	// Ctrl-C reaches the servers too (one process group) and they exit;
	// this process notices before the next run, so it stops every server it
	// started (runOne's deferred stop) and leaves none behind.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupted)

	total := len(o.loads) * o.rounds * len(o.servers)
	n := 0
	for _, l := range o.loads {
		for r := 1; r <= o.rounds; r++ {
			for _, s := range o.servers {
				select {
				case <-interrupted:
					return nil, fmt.Errorf("interrupted")
				default:
				}
				n++
				res := runQuiet(o, s, l, r, func(res result) {
					fmt.Fprintf(progress, "[%d/%d] round %d %-14s %-15s %s\n", n, total, r, l.name(), s, res.summary())
				})
				rep.Runs = append(rep.Runs, res)
			}
		}
	}
	return rep, nil
}

func (r result) summary() string {
	if r.Err != "" {
		return "FAILED: " + r.Err
	}
	s := fmt.Sprintf("%s %s/s  p50 %s  p99 %s  p99.9 %s  server %.2fµs/%s  CPU server %.0f%% load %.0f%% others %.0f%%",
		si(r.Rate), r.Unit, usec(r.P50us), usec(r.P99us), usec(r.P999us), r.CPUPerOp, r.Unit, 100*r.CPUUtil, 100*r.LoadCPU, 100*r.interference())
	if r.UserInstrPerOp > 0 {
		s += fmt.Sprintf("  %s user instr/%s (callgrind)", si(r.UserInstrPerOp), r.Unit)
	}
	if r.InstrPerOp > 0 {
		s += fmt.Sprintf("  %s instr/%s", si(r.InstrPerOp), r.Unit)
	}
	if r.SyscallsPerOp > 0 {
		s += fmt.Sprintf("  %.2f syscalls/%s", r.SyscallsPerOp, r.Unit)
	}
	if r.RSSAfter > 0 {
		s += fmt.Sprintf("  RSS %s → %s, %.0f B/conn", bytesIEC(r.RSSBefore), bytesIEC(r.RSSAfter), r.RSSPerConn)
	}
	if r.Attempts > 1 {
		s += fmt.Sprintf("  (attempt %d)", r.Attempts)
	}
	if r.Failed > 0 {
		s += fmt.Sprintf("  (%d failed: %s)", r.Failed, r.FirstFailure)
	}
	return s
}

// runQuiet makes one run, after waiting for a quiet machine, and makes it
// again (at most o.retries times) while other processes took more than
// o.maxInterf of a CPU during its window; it keeps the quietest attempt.
// show is called on every attempt.
func runQuiet(o *options, server string, l loadSpec, round int, show func(result)) result {
	var best result
	for attempt := 1; ; attempt++ {
		if o.quietWait > 0 {
			waitQuiet(o.quietWait)
		}
		res := runOne(o.runConfig, server, l, round)
		res.Attempts = attempt
		show(res)
		if res.Err != "" {
			return res // a failure is never hidden by another attempt
		}
		if attempt == 1 || res.interference() < best.interference() {
			best = res
		}
		// The idle load's figure is memory, which interference does not move.
		if l.kind == idleLoad || best.interference() <= o.maxInterf || attempt > o.retries {
			best.Attempts = attempt
			return best
		}
	}
}

// loadReports reads the reports saved with --json at paths: one, or two
// of which one ran under callgrind and the other did not; the latter is
// the report, and the callgrind run gives its targets table the
// instruction counts (targets.go).
func loadReports(paths []string) (*report, error) {
	var reps []*report
	for _, p := range paths {
		rep, err := loadReport(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	switch {
	case len(reps) == 1:
		return reps[0], nil
	case len(reps) == 2 && reps[0].Callgrind != reps[1].Callgrind:
		if reps[0].Callgrind {
			reps[0], reps[1] = reps[1], reps[0]
		}
		reps[0].cg = reps[1]
		return reps[0], nil
	}
	return nil, fmt.Errorf("--from-json: one file, or two of which exactly one ran under --callgrind")
}

// loadReport reads a report saved with --json.
func loadReport(path string) (*report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rep := &report{}
	if err := json.Unmarshal(b, rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}
