package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where the figures come from.
type machine struct {
	CPU     string   `json:"cpu"`
	NumCPU  int      `json:"nproc"`
	Kernel  string   `json:"kernel"`
	Go      string   `json:"go"`
	Perf    bool     `json:"perf"` // instructions are counted
	PerfWhy string   `json:"perf_note,omitempty"`
	Events  []string `json:"perf_events,omitempty"` // every event counted
	Pinned  bool     `json:"pinned"`
	Pinning string   `json:"pinning"`
	Nofile  uint64   `json:"nofile"`
	Date    string   `json:"date"`
}

func describeMachine(o *options) machine {
	m := machine{NumCPU: runtime.NumCPU(), Kernel: kernelRelease(),
		Go:     runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Pinned: o.pin, Nofile: nofile(), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	m.CPU = "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if o.perfMode == "off" {
		m.PerfWhy = "perf not used (--perf off)"
	} else {
		for _, ev := range perfEvents {
			ok, why := perfProbe(ev)
			if ok {
				m.Events = append(m.Events, ev)
			}
			if ev == evInstructions {
				m.Perf, m.PerfWhy = ok, why
			}
		}
	}
	switch {
	case !o.pin:
		m.Pinning = "none: server (GOMAXPROCS default) and load generator share every CPU"
	default:
		how := "sched_setaffinity"
		if _, err := exec.LookPath("taskset"); err == nil {
			how = "taskset"
		}
		m.Pinning = fmt.Sprintf("server on CPU 0 (%s, GOMAXPROCS=1), load generator on CPU 1 (sched_setaffinity, GOMAXPROCS=1)", how)
	}
	return m
}

// report is every run and the machine; the markdown shows medians.
type report struct {
	Machine  machine  `json:"machine"`
	Servers  []string `json:"servers"`
	Loads    []string `json:"loads"`
	Rounds   int      `json:"rounds"`
	Duration string   `json:"duration"`
	Warmup   string   `json:"warmup"`
	Quick    bool     `json:"quick"`

	MaxInterference float64  `json:"max_interference"`
	Callgrind       bool     `json:"callgrind,omitempty"` // servers ran under callgrind: compare user-space instructions
	TLS             bool     `json:"tls,omitempty"`       // TLS servers and loads (--tls)
	Baseline        string   `json:"baseline,omitempty"`  // the server of every ratio; empty: defaultBaseline
	Runs            []result `json:"runs"`

	// cg is a run under callgrind of the same code, given beside this one
	// to --from-json: the targets table takes instructions from it.
	cg *report
}

// base is the server every ratio refers to.
func (r *report) base() string {
	if r.Baseline == "" {
		return defaultBaseline // a report saved before --baseline
	}
	return r.Baseline
}

func (r *report) failures() int {
	n := 0
	for _, x := range r.Runs {
		if x.Err != "" {
			n++
		}
	}
	return n
}

// stat is one figure of one server under one load over the rounds that
// succeeded.
type stat struct {
	med, min, max float64
	n             int
}

func (s stat) ok() bool { return s.n > 0 }

// spread is half the range over the rounds, relative to the median.
func (s stat) spread() float64 {
	if s.n < 2 || s.med == 0 {
		return 0
	}
	return (s.max - s.min) / 2 / math.Abs(s.med)
}

func (r *report) stat(server, load string, f func(result) float64) stat {
	var v []float64
	for _, x := range r.Runs {
		if x.Server == server && x.Load == load && x.Err == "" {
			v = append(v, f(x))
		}
	}
	if len(v) == 0 {
		return stat{}
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{med: med, min: v[0], max: v[len(v)-1], n: len(v)}
}

func (r *report) unit(load string) string {
	for _, x := range r.Runs {
		if x.Load == load {
			return x.Unit
		}
	}
	return "op"
}

// cost is the figure the ratios compare: instructions per operation where
// perf counts them, server CPU time per operation otherwise.
func (r *report) cost(x result) float64 {
	switch {
	case r.Callgrind:
		return x.UserInstrPerOp
	case r.Machine.Perf:
		return x.InstrPerOp
	}
	return x.CPUPerOp
}

func (r *report) costName() string {
	switch {
	case r.Callgrind:
		return "server user-space instructions per operation (callgrind)"
	case r.Machine.Perf:
		return "server instructions per operation"
	}
	return "server CPU time (utime+stime) per operation"
}

func (r *report) formatCost(v float64) string {
	if r.Machine.Perf || r.Callgrind {
		return si(v) + " instr"
	}
	return fmt.Sprintf("%.2fµs", v)
}

const noisy = 0.05 // spread above which a figure is marked ~

func mark(s stat) string {
	if s.spread() > noisy {
		return "~"
	}
	return ""
}

func ratio(v, base stat) string {
	if !v.ok() || !base.ok() || base.med == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v.med/base.med)
}

func (r *report) hasBaseline() bool { return contains(r.Servers, r.base()) }

func (r *report) markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## Machine\n\n")
	fmt.Fprintf(w, "- CPU: %s, nproc %d; kernel %s; %s; RLIMIT_NOFILE %d\n", m.CPU, m.NumCPU, m.Kernel, m.Go, m.Nofile)
	if r.Callgrind {
		fmt.Fprintf(w, "- **callgrind**: every server ran under valgrind's callgrind, zeroed when the window opened and dumped when it closed; ratios compare the server's user-space instructions per operation (the kernel's share is not counted: see the system calls). A server runs 20-50× slower under valgrind, so throughput, latency and CPU time below mean nothing\n")
	}
	switch {
	case r.Callgrind:
		fmt.Fprintf(w, "- perf: %s\n", map[bool]string{true: "`perf stat -e instructions` works", false: "no instruction counts (" + m.PerfWhy + ")"}[m.Perf])
	case m.Perf:
		fmt.Fprintf(w, "- perf: `perf stat -e instructions` works; ratios compare server instructions per operation\n")
	default:
		fmt.Fprintf(w, "- perf: no instruction counts (%s); ratios compare server CPU time per operation (utime+stime from /proc/PID/stat: sampled at each scheduler tick, reported in 10 ms units)\n", m.PerfWhy)
	}
	if len(m.Events) > 0 {
		fmt.Fprintf(w, "- perf stat -p PID counts %s on the server around each window (from 100 ms before it)\n", strings.Join(m.Events, ", "))
	}
	fmt.Fprintf(w, "- pinning: %s\n", m.Pinning)
	if r.TLS {
		fmt.Fprintf(w, "- **TLS**: every server speaks TLS 1.3 with an ECDSA P-256 certificate; the load generator (crypto/tls) offers X25519 only and does not verify; churn makes a full handshake per connection (no resumption)\n")
	}
	fmt.Fprintf(w, "- runs: %d round(s); in each, every load runs against every server in turn (%s); %s measured after %s of warm-up; a fresh server process per run; figures are medians over the rounds\n",
		r.Rounds, strings.Join(r.Servers, ", "), r.Duration, r.Warmup)
	fmt.Fprintf(w, "- date: %s\n\n", m.Date)

	base := r.base()
	fmt.Fprintf(w, "## Summary\n\n")
	fmt.Fprintf(w, "Each cell: throughput · p99 latency · %s, and in brackets that cost as a multiple of %s's (lower is better). ", r.costName(), base)
	fmt.Fprintf(w, "Idle: server RSS growth per connection (× %s). `~` marks a figure whose rounds spread more than ±%.0f%% around the median.\n\n", base, 100*noisy)
	r.header(w)
	for _, load := range r.Loads {
		fmt.Fprintf(w, "| %s |", load)
		idle := strings.HasPrefix(load, "idle")
		unit := r.unit(load)
		for _, s := range r.Servers {
			if idle {
				v := r.stat(s, load, func(x result) float64 { return x.RSSPerConn })
				b := r.stat(base, load, func(x result) float64 { return x.RSSPerConn })
				if !v.ok() {
					fmt.Fprintf(w, " failed |")
					continue
				}
				fmt.Fprintf(w, " %s%s/conn (%s) |", bytesIEC(int64(v.med)), mark(v), ratio(v, b))
				continue
			}
			rate := r.stat(s, load, func(x result) float64 { return x.Rate })
			if !rate.ok() {
				fmt.Fprintf(w, " failed |")
				continue
			}
			p99 := r.stat(s, load, func(x result) float64 { return x.P99us })
			c := r.stat(s, load, r.cost)
			b := r.stat(base, load, r.cost)
			fmt.Fprintf(w, " %s%s %s/s · p99 %s%s · %s%s (%s) |", si(rate.med), mark(rate), unit,
				usec(p99.med), mark(p99), r.formatCost(c.med), mark(c), ratio(c, b))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	if r.showTargets() {
		r.targets(w)
	}

	fmt.Fprintf(w, "## Details\n\nMedian, ±half the range over the rounds, and the multiple of %s's median.\n\n", base)
	num := func(format string) func(float64) string {
		return func(v float64) string { return fmt.Sprintf(format, v) }
	}
	pct := num("%.0f%%")
	r.table(w, "Throughput (operations/s; higher is better)", func(x result) float64 { return x.Rate }, si, withRatio)
	r.table(w, "p50 latency (stream: send to echo; churn and idle: connect to echo)", func(x result) float64 { return x.P50us }, usec, withRatio)
	r.table(w, "p99 latency", func(x result) float64 { return x.P99us }, usec, withRatio)
	if slices.ContainsFunc(r.Runs, func(x result) bool { return x.P999us > 0 }) { // not in runs saved before it was kept
		r.table(w, "p99.9 latency", func(x result) float64 { return x.P999us }, usec, withRatio)
	}
	r.table(w, "Server CPU time per operation (µs; lower is better)", func(x result) float64 { return x.CPUPerOp }, num("%.2f"), withRatio)
	if m.Perf {
		r.table(w, "Server instructions per operation (lower is better)", func(x result) float64 { return x.InstrPerOp }, si, withRatio|timedOnly)
	}
	if r.Callgrind {
		r.table(w, "Server user-space instructions per operation (callgrind; lower is better)", func(x result) float64 { return x.UserInstrPerOp }, si, withRatio|timedOnly)
	}
	if contains(m.Events, evSyscalls) {
		r.table(w, "Server system calls per operation (perf, raw_syscalls:sys_enter)", func(x result) float64 { return x.SyscallsPerOp },
			num("%.2f"), withRatio|timedOnly)
	}
	if contains(m.Events, evCtxSwitches) {
		r.table(w, "Server context switches per operation (perf, context-switches)", func(x result) float64 { return x.CtxSwPerOp },
			num("%.3f"), withRatio|timedOnly)
	}
	r.table(w, "Server CPU utilisation in the window (100% = one CPU busy; well below it, the load generator is the bottleneck)",
		func(x result) float64 { return 100 * x.CPUUtil }, pct, 0)
	r.table(w, "Load generator CPU utilisation in the window", func(x result) float64 { return 100 * x.LoadCPU }, pct, 0)
	r.table(w, "Interference: user CPU of other processes plus hypervisor steal in the window (% of one CPU, median and highest round; a run above "+
		pct(100*r.MaxInterference)+" was made again and the quietest attempt kept)",
		func(x result) float64 { return 100 * x.interference() }, pct, withMax)
	r.table(w, "Kernel CPU outside both processes in the window (% of one CPU, median and highest round: network softirq work in kernel threads or on an idle CPU, and other processes' system time)",
		func(x result) float64 { return 100 * x.OtherSys }, pct, withMax)
	r.idleTable(w)
	r.problems(w)
}

func (r *report) header(w io.Writer) {
	fmt.Fprintf(w, "| load |")
	for _, s := range r.Servers {
		fmt.Fprintf(w, " %s |", s)
	}
	fmt.Fprintf(w, "\n|---|")
	for range r.Servers {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
}

// tableMode says what a detail table shows besides the median.
type tableMode int

const (
	withRatio tableMode = 1 << iota // the multiple of the baseline's median (and the spread)
	withMax                         // the highest round instead of the spread
	timedOnly                       // a figure of the timed loads only (idle shows –)
)

func (r *report) table(w io.Writer, title string, f func(result) float64, format func(float64) string, mode tableMode) {
	fmt.Fprintf(w, "### %s\n\n", title)
	r.header(w)
	for _, load := range r.Loads {
		fmt.Fprintf(w, "| %s |", load)
		b := r.stat(r.base(), load, f)
		for _, s := range r.Servers {
			v := r.stat(s, load, f)
			switch {
			case !v.ok():
				fmt.Fprintf(w, " failed |")
				continue
			case mode&timedOnly != 0 && strings.HasPrefix(load, "idle"):
				fmt.Fprintf(w, " – |")
				continue
			}
			cell := format(v.med)
			switch {
			case mode&withMax != 0:
				if v.n > 1 {
					cell += ", " + format(v.max)
				}
			case v.n > 1:
				cell += fmt.Sprintf(" ±%.0f%%", 100*v.spread())
			}
			if mode&withRatio != 0 && s != r.base() && r.hasBaseline() {
				cell += " (" + ratio(v, b) + ")"
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (r *report) idleTable(w io.Writer) {
	var idle []string
	for _, l := range r.Loads {
		if strings.HasPrefix(l, "idle") {
			idle = append(idle, l)
		}
	}
	if len(idle) == 0 {
		return
	}
	fmt.Fprintf(w, "### Idle connections: server RSS (VmRSS before → after, growth per connection)\n\n")
	r.header(w)
	for _, load := range idle {
		fmt.Fprintf(w, "| %s |", load)
		for _, s := range r.Servers {
			before := r.stat(s, load, func(x result) float64 { return float64(x.RSSBefore) })
			after := r.stat(s, load, func(x result) float64 { return float64(x.RSSAfter) })
			per := r.stat(s, load, func(x result) float64 { return x.RSSPerConn })
			if !per.ok() {
				fmt.Fprintf(w, " failed |")
				continue
			}
			fmt.Fprintf(w, " %s → %s, %.0f B/conn ±%.0f%% |", bytesIEC(int64(before.med)), bytesIEC(int64(after.med)), per.med, 100*per.spread())
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (r *report) problems(w io.Writer) {
	var lines []string
	for _, x := range r.Runs {
		switch {
		case x.Err != "":
			lines = append(lines, fmt.Sprintf("- round %d, %s, %s: FAILED: %s", x.Round, x.Load, x.Server, x.Err))
		case x.Failed > 0:
			lines = append(lines, fmt.Sprintf("- round %d, %s, %s: %d cycles failed and were not counted (first: %s)", x.Round, x.Load, x.Server, x.Failed, x.FirstFailure))
		}
	}
	again, noisy := 0, 0
	for _, x := range r.Runs {
		if x.Attempts > 1 {
			again++
			if x.interference() > r.MaxInterference {
				noisy++
			}
		}
	}
	if again > 0 {
		fmt.Fprintf(w, "%d of %d runs were made again because of interference; %d kept an attempt above the %.0f%% bound.\n\n",
			again, len(r.Runs), noisy, 100*r.MaxInterference)
	}
	if len(lines) == 0 {
		fmt.Fprintf(w, "Every run completed and every echoed byte matched.\n")
		return
	}
	fmt.Fprintf(w, "### Problems\n\n%s\n", strings.Join(lines, "\n"))
}

// si formats with k/M suffixes and three significant digits.
func si(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trim3(v/1e6) + "M"
	case a >= 1e3:
		return trim3(v/1e3) + "k"
	}
	return trim3(v)
}

func trim3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func usec(us float64) string {
	if us >= 1000 {
		return trim3(us/1000) + "ms"
	}
	return trim3(us) + "µs"
}

func bytesIEC(n int64) string {
	switch a := math.Abs(float64(n)); {
	case a >= 1<<30:
		return trim3(float64(n)/(1<<30)) + " GiB"
	case a >= 1<<20:
		return trim3(float64(n)/(1<<20)) + " MiB"
	case a >= 1<<10:
		return trim3(float64(n)/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}
