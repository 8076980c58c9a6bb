package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is CPU time split into user and system (kernel) time.
type cpuTime struct{ user, sys time.Duration }

func (c cpuTime) total() time.Duration { return c.user + c.sys }

func (c cpuTime) sub(d cpuTime) cpuTime { return cpuTime{c.user - d.user, c.sys - d.sys} }

// procCPU is the CPU time (utime, stime) a process has used, from
// /proc/PID/stat: every thread, live or exited. Without
// VIRT_CPU_ACCOUNTING the kernel samples it at every tick (CONFIG_HZ), and
// a tick that lands in softirq work (such as loopback TCP receive
// processing) is charged to whichever task was running.
func procCPU(pid int) (cpuTime, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTime{}, err
	}
	// The command name (field 2) may hold spaces; the fields after it start
	// at the state (field 3), so utime (14) and stime (15) are at 11 and 12.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTime{}, errors.New("echobench: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return cpuTime{}, errors.New("echobench: short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return cpuTime{}, err
	}
	return cpuTime{ticks(ut), ticks(st)}, nil
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// procRSS is VmRSS from /proc/PID/status, in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("echobench: no VmRSS in /proc/PID/status")
}

// The events counted with `perf stat -p PID` around a window, where perf
// counts them. Instructions need hardware counters (a VM often has none);
// the syscall tracepoint and the context-switch software event work
// wherever perf does, and unlike CPU time they do not move with the load
// on the rest of the machine.
const (
	evInstructions = "instructions"
	evSyscalls     = "raw_syscalls:sys_enter"
	evCtxSwitches  = "context-switches"
)

var perfEvents = []string{evInstructions, evSyscalls, evCtxSwitches}

// perfProbe tells whether `perf stat -e EVENT sleep 0.01` counts on this machine,
// and if not, why.
func perfProbe(event string) (ok bool, why string) {
	path, err := exec.LookPath("perf")
	if err != nil {
		return false, "perf is not installed"
	}
	out, err := exec.Command(path, "stat", "-x", ",", "-e", event, "sleep", "0.01").CombinedOutput()
	n, perr := parsePerfCount(out, event)
	switch {
	case perr == nil && n > 0:
		return true, ""
	case perr != nil:
		return false, perr.Error()
	case err != nil:
		return false, fmt.Sprintf("perf stat failed: %v", err)
	}
	return false, fmt.Sprintf("perf counted no %s", event)
}

// parsePerfCount reads the count of event from `perf stat -x ,` output
// (stderr): "12345,,instructions:u,..." or "<not supported>,,instructions,...".
func parsePerfCount(out []byte, event string) (int64, error) {
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || !strings.HasPrefix(f[2], event) {
			continue
		}
		switch f[0] {
		case "<not supported>":
			return 0, fmt.Errorf("perf: %s <not supported> (no hardware counters, as in this VM)", event)
		case "<not counted>":
			return 0, fmt.Errorf("perf: %s <not counted>", event)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("perf: no %s line in %q", event, bytes.TrimSpace(out))
}

// perfStat counts events of a running process between start and stop with
// `perf stat -e EVENTS -p PID`.
type perfStat struct {
	events []string
	cmd    *exec.Cmd
	out    bytes.Buffer
}

func startPerf(pid int, events []string) (*perfStat, error) {
	p := &perfStat{events: events}
	p.cmd = exec.Command("perf", "stat", "-x", ",", "-e", strings.Join(events, ","), "-p", strconv.Itoa(pid))
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// stop ends the count (SIGINT makes perf print it) and returns it by event.
func (p *perfStat) stop() (map[string]int64, error) {
	p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
		return nil, errors.New("perf stat did not stop")
	}
	counts := map[string]int64{}
	var errs []error
	for _, ev := range p.events {
		n, err := parsePerfCount(p.out.Bytes(), ev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		counts[ev] = n
	}
	return counts, errors.Join(errs...)
}

// machineCPU is the CPU time of the whole machine, from the first line of
// /proc/stat.
type machineCPU struct {
	user  time.Duration // user and nice
	sys   time.Duration // system, irq and softirq
	steal time.Duration // taken by the hypervisor
}

func systemCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}, errors.New("echobench: malformed /proc/stat")
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return machineCPU{}, err
		}
	}
	return machineCPU{user: ticks(v[0] + v[1]), sys: ticks(v[2] + v[5] + v[6]), steal: ticks(v[7])}, nil
}

// cpuSnapshot is what a window compares: the server's CPU time, this
// process's, and the machine's.
type cpuSnapshot struct {
	server, self cpuTime
	machine      machineCPU
}

func takeCPU(pid int) (cpuSnapshot, error) {
	var s cpuSnapshot
	var err1, err2, err3 error
	s.server, err1 = procCPU(pid)
	s.self, err2 = procCPU(os.Getpid())
	s.machine, err3 = systemCPU()
	return s, errors.Join(err1, err2, err3)
}

// outside splits the CPU time used between a and b by neither the server
// nor the load generator: user time, which only other processes use (the
// interference), and kernel time, which also holds the network softirq
// work done in kernel threads or on an otherwise idle CPU; and the time
// stolen by the hypervisor.
func (a cpuSnapshot) outside(b cpuSnapshot) (user, sys, steal time.Duration) {
	srv, self := b.server.sub(a.server), b.self.sub(a.self)
	user = (b.machine.user - a.machine.user) - srv.user - self.user
	sys = (b.machine.sys - a.machine.sys) - srv.sys - self.sys
	return max(user, 0), max(sys, 0), b.machine.steal - a.machine.steal
}

// waitQuiet waits, at most max, until the machine has been nearly idle
// (under 20% of one CPU busy, steal included) for 300 ms, so that a run does
// not start in the middle of someone else's burst. It returns the busy
// fraction last seen.
func waitQuiet(max time.Duration) float64 {
	const window = 300 * time.Millisecond
	deadline := time.Now().Add(max)
	last := 0.0
	for {
		a, err := systemCPU()
		if err != nil {
			return 0
		}
		time.Sleep(window)
		b, err := systemCPU()
		if err != nil {
			return 0
		}
		last = (b.user - a.user + b.sys - a.sys + b.steal - a.steal).Seconds() / window.Seconds()
		if last < 0.2 || time.Now().After(deadline) {
			return last
		}
	}
}
