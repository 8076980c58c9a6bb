package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Issue 14 sets proactor's costs against gnet v2 and the C floor (cfloor)
// at four stream loads, and its idle memory per connection. A report whose
// baseline is gnet, with gnet, cfloor and a proactor engine among its
// servers, checks each target and says whether it is met.
//
// The instruction target needs a run under callgrind, whose times mean
// nothing, and the others a run without it; so the table takes each figure
// from the run that can give it: instructions from this report when it ran
// under callgrind or from the callgrind run given beside it to --from-json,
// everything else from this report when it did not.

const (
	targetPeer  = "gnet"
	targetFloor = "cfloor"
)

// targetLoads are the loads the targets name.
var targetLoads = []string{"1000×64B×1", "100×64B×16", "10×16KiB×4", "10000×64B×1"}

// targetEngines are the proactor servers the targets apply to.
var targetEngines = []string{"proactor-epoll", "proactor-uring"}

// The limits, as multiples of the other server's median (lower is better).
const (
	maxInstrVsPeer    = 0.90 // user-space instructions per message ÷ gnet's
	maxCPUVsPeer      = 0.90 // server CPU per message ÷ gnet's
	maxCPUVsFloor     = 1.05 // server CPU per message ÷ cfloor's
	maxSyscallsVsPeer = 1.00 // system calls per message ÷ gnet's
	maxUringVsEpoll   = 1.00 // the uring engine's CPU per message ÷ the epoll engine's
	maxP999VsPeer     = 1.00 // p99.9 latency ÷ gnet's
	maxIdleBytes      = 400  // server RSS growth per idle connection, bytes
)

// showTargets says whether the report checks issue 14's targets.
func (r *report) showTargets() bool {
	if r.base() != targetPeer || !contains(r.Servers, targetPeer) || !contains(r.Servers, targetFloor) {
		return false
	}
	for _, e := range targetEngines {
		if contains(r.Servers, e) {
			return true
		}
	}
	return false
}

// tally counts the verdicts of the targets table.
type tally struct{ met, notMet int }

// check renders v÷b (medians) against limit with its verdict, or "–" when
// src is nil or either figure is missing. `~` marks a ratio of which either
// figure spread more than noisy over the rounds: its verdict is not firm.
func (t *tally) check(src *report, s, other, load string, f func(result) float64, limit float64) string {
	if src == nil {
		return "–"
	}
	v, b := src.stat(s, load, f), src.stat(other, load, f)
	if !v.ok() || !b.ok() || b.med == 0 || v.med == 0 {
		return "–"
	}
	q := v.med / b.med
	noise := ""
	if mark(v) != "" || mark(b) != "" {
		noise = "~"
	}
	return fmt.Sprintf("%s×%s %s", beside(q, limit), noise, t.verdict(q <= limit))
}

// beside formats the ratio q to two decimals, or more where two would show
// it equal to the limit it misses or barely meets ("0.90× not met" under
// "≤ 0.90×" would read as a mistake).
func beside(q, limit float64) string {
	for prec := 2; ; prec++ {
		s := strconv.FormatFloat(q, 'f', prec, 64)
		if prec == 4 || q == limit || s != strconv.FormatFloat(limit, 'f', prec, 64) {
			return s
		}
	}
}

func (t *tally) verdict(ok bool) string {
	if ok {
		t.met++
		return "met"
	}
	t.notMet++
	return "**not met**"
}

// targetRows are the loads the table shows: those of targetLoads that ran,
// or, when none did (a --quick run), every stream load, which then only
// stands in for them.
func (r *report) targetRows() (loads []string, standIn bool) {
	for _, l := range r.Loads {
		if contains(targetLoads, l) {
			loads = append(loads, l)
		}
	}
	if len(loads) > 0 {
		return loads, false
	}
	for _, l := range r.Loads {
		if r.unit(l) == "msg" {
			loads = append(loads, l)
		}
	}
	return loads, true
}

func (r *report) targets(w io.Writer) {
	instr, timed := r.cg, r
	if r.Callgrind {
		instr, timed = r, nil
	}
	loads, standIn := r.targetRows()
	fmt.Fprintf(w, "## Against issue 14's targets\n\n")
	fmt.Fprintf(w, "Each cell: proactor's median as a multiple of the other server's median, and whether the target (in the heading) is met. ")
	switch {
	case r.Callgrind:
		fmt.Fprintf(w, "This run was under callgrind: it gives the instructions only; the other figures come from a run without it (`--from-json cpu.json,callgrind.json` renders both in one table). ")
	case instr == nil:
		fmt.Fprintf(w, "Instructions come from a run under `--callgrind`, rendered beside this one with `--from-json cpu.json,callgrind.json`; none was given. ")
	default:
		fmt.Fprintf(w, "Instructions come from the callgrind run given beside this one (%s). ", instr.Machine.Date)
	}
	fmt.Fprintf(w, "CPU is utime+stime of the server per message, system calls are perf's raw_syscalls:sys_enter, p99.9 is from send to echo. `~` marks a ratio of which either figure spread more than ±%.0f%% over the rounds: its verdict is not firm.\n\n", 100*noisy)
	if standIn {
		fmt.Fprintf(w, "None of the issue's loads (%s) ran; the loads below only stand in for them.\n\n", strings.Join(targetLoads, ", "))
	}
	var t tally
	cpu := func(x result) float64 { return x.CPUPerOp }
	fmt.Fprintf(w, "| load | server | user instr/msg ÷ gnet (≤ %.2f×) | CPU/msg ÷ gnet (≤ %.2f×) | CPU/msg ÷ cfloor (≤ %.2f×) | syscalls/msg ÷ gnet (≤ %.2f×) | CPU/msg ÷ proactor-epoll (uring; ≤ %.2f×) | p99.9 ÷ gnet (≤ %.2f×) |\n",
		maxInstrVsPeer, maxCPUVsPeer, maxCPUVsFloor, maxSyscallsVsPeer, maxUringVsEpoll, maxP999VsPeer)
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, load := range loads {
		for _, e := range targetEngines {
			if !contains(r.Servers, e) {
				continue
			}
			uring := ""
			if e == "proactor-uring" {
				uring = t.check(timed, e, "proactor-epoll", load, cpu, maxUringVsEpoll)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", load, e,
				t.check(instr, e, targetPeer, load, func(x result) float64 { return x.UserInstrPerOp }, maxInstrVsPeer),
				t.check(timed, e, targetPeer, load, cpu, maxCPUVsPeer),
				t.check(timed, e, targetFloor, load, cpu, maxCPUVsFloor),
				t.check(timed, e, targetPeer, load, func(x result) float64 { return x.SyscallsPerOp }, maxSyscallsVsPeer),
				uring,
				t.check(timed, e, targetPeer, load, func(x result) float64 { return x.P999us }, maxP999VsPeer))
		}
	}
	fmt.Fprintln(w)
	if timed != nil {
		r.idleTargets(w, &t)
	}
	fmt.Fprintf(w, "%d of %d targets checked here are met.\n\n", t.met, t.met+t.notMet)
}

// idleTargets checks the server RSS growth per idle connection.
func (r *report) idleTargets(w io.Writer, t *tally) {
	header := false
	for _, load := range r.Loads {
		if !strings.HasPrefix(load, "idle") {
			continue
		}
		for _, e := range targetEngines {
			if !contains(r.Servers, e) {
				continue
			}
			if !header {
				fmt.Fprintf(w, "| load | server | RSS growth per connection (≤ %d B) |\n|---|---|---|\n", maxIdleBytes)
				header = true
			}
			cell := "–"
			if v := r.stat(e, load, func(x result) float64 { return x.RSSPerConn }); v.ok() {
				cell = fmt.Sprintf("%.0f B%s %s", v.med, mark(v), t.verdict(v.med <= maxIdleBytes))
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", load, e, cell)
		}
	}
	if header {
		fmt.Fprintln(w)
	}
}
