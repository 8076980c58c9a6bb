//go:build linux

// Command udpbench measures datagram echo servers: datagrams per second
// and the server's CPU time per datagram, for proactor's PacketServer on
// each engine against a plain Go net UDP echo and gnet's UDP.
//
//	go run ./cmd/udpbench                        # 5 interleaved rounds of 3 s
//	go run ./cmd/udpbench --servers proactor-epoll,gonet --rounds 3
//
// Each server is a child process (this binary, `udpbench server KIND`)
// pinned to CPU 0 with GOMAXPROCS=1; the load is another child
// (`udpbench load`) pinned to CPU 1, one thread on epoll driving
// --clients sockets with --inflight datagrams of --size bytes in flight
// each, batched with recvmmsg and sendmmsg, every reply checked (the
// sender's id and sequence number, the length). Rounds are interleaved:
// round 1 runs every server in turn, then round 2, and so on; the table
// gives medians with ±half the range. The server's CPU time is utime +
// stime from /proc/PID/stat between the load's window markers.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "server":
			os.Exit(runServer(os.Args[2:]))
		case "load":
			os.Exit(runLoad(os.Args[2:]))
		}
	}
	os.Exit(runBench(os.Args[1:]))
}

// result is one server's figures in one round.
type result struct {
	rate  float64 // datagrams echoed per second
	cpuNs float64 // server CPU per datagram
	util  float64 // server CPU time over the window (1: one CPU busy)
	lutil float64 // the load generator's, likewise
	lost  int64   // datagrams a client gave up on: no echo for 200 ms
}

func runBench(args []string) int {
	fs := flag.NewFlagSet("udpbench", flag.ExitOnError)
	servers := fs.String("servers", "proactor-epoll,proactor-uring,proactor-std,gonet,gnet", "comma-separated server kinds")
	rounds := fs.Int("rounds", 5, "interleaved rounds")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "load before the window")
	duration := fs.Duration("duration", 3*time.Second, "the measured window")
	clients := fs.Int("clients", 16, "client sockets")
	inflight := fs.Int("inflight", 8, "datagrams in flight per client socket")
	size := fs.Int("size", 64, "datagram size in bytes")
	pin := fs.Bool("pin", true, "server on CPU 0, load on CPU 1 (taskset)")
	fs.Parse(args)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := exec.LookPath("taskset"); *pin && err != nil {
		fmt.Fprintln(os.Stderr, "udpbench: --pin needs taskset (util-linux)")
		return 1
	}
	kinds := strings.Split(*servers, ",")
	res := map[string][]result{}
	for r := range *rounds {
		for _, kind := range kinds {
			x, err := runOne(exe, kind, *pin, *warmup, *duration, *clients, *inflight, *size)
			if err != nil {
				fmt.Fprintf(os.Stderr, "udpbench: %s, round %d: %v\n", kind, r+1, err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "round %d %-15s %9.0f datagrams/s  %6.0f ns CPU/datagram  server CPU %3.0f%%  load CPU %3.0f%%  %d given up\n", r+1, kind, x.rate, x.cpuNs, 100*x.util, 100*x.lutil, x.lost)
			res[kind] = append(res[kind], x)
		}
	}
	report(os.Stdout, kinds, res, *clients, *inflight, *size, *duration, *rounds)
	return 0
}

// runOne starts a server and a load against it and returns the figures
// of the load's window.
func runOne(exe, kind string, pin bool, warmup, duration time.Duration, clients, inflight, size int) (result, error) {
	srv := command(pin, 0, exe, "server", kind)
	srvIn, err := srv.StdinPipe()
	if err != nil {
		return result{}, err
	}
	srvOut, err := srv.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		srvIn.Close() // the server exits when its stdin closes
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	sc := bufio.NewScanner(srvOut)
	if !sc.Scan() {
		return result{}, fmt.Errorf("server %s printed no address", kind)
	}
	addr := strings.TrimSpace(sc.Text())
	go io.Copy(io.Discard, srvOut)

	load := command(pin, 1, exe, "load", "--addr", addr, "--warmup", warmup.String(), "--duration", duration.String(),
		"--clients", strconv.Itoa(clients), "--inflight", strconv.Itoa(inflight), "--size", strconv.Itoa(size))
	load.Stderr = os.Stderr
	out, err := load.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := load.Start(); err != nil {
		return result{}, err
	}
	defer load.Wait()
	ls := bufio.NewScanner(out)
	var start, end cpuTime
	var x result
	for ls.Scan() {
		f := strings.Fields(ls.Text())
		switch {
		case len(f) == 1 && f[0] == "window-start":
			start, err = procCPU(srv.Process.Pid)
		case len(f) == 4 && f[0] == "window-end":
			end, err = procCPU(srv.Process.Pid)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			x.lost, _ = strconv.ParseInt(f[2], 10, 64)
			lcpu, _ := strconv.ParseInt(f[3], 10, 64)
			x.lutil = float64(lcpu) / float64(duration)
			if n == 0 {
				return result{}, fmt.Errorf("no datagram echoed")
			}
			x.rate = float64(n) / duration.Seconds()
			x.cpuNs = float64(end-start) / float64(n)
			x.util = float64(end-start) / float64(duration)
		}
		if err != nil {
			return result{}, err
		}
	}
	if err := load.Wait(); err != nil {
		return result{}, fmt.Errorf("load: %w", err)
	}
	if x.rate == 0 {
		return result{}, fmt.Errorf("load reported no window")
	}
	return x, nil
}

// command runs exe args, pinned to cpu with GOMAXPROCS=1 when pin.
func command(pin bool, cpu int, exe string, args ...string) *exec.Cmd {
	argv := append([]string{exe}, args...)
	if pin {
		argv = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	if pin {
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	return cmd
}

// cpuTime is a process's utime + stime.
type cpuTime time.Duration

// procCPU reads utime + stime from /proc/PID/stat (USER_HZ is 100 on every
// Linux architecture Go supports).
func procCPU(pid int) (cpuTime, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return cpuTime(time.Duration(ut+st) * time.Second / 100), nil
}

// median returns the median of xs and half their range.
func median(xs []float64) (float64, float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m, (s[len(s)-1] - s[0]) / 2
}

func report(w io.Writer, kinds []string, res map[string][]result, clients, inflight, size int, d time.Duration, rounds int) {
	fmt.Fprintf(w, "UDP echo, %d client sockets × %d datagrams in flight × %d B; %d interleaved rounds of %v; medians ± half the range\n\n",
		clients, inflight, size, rounds, d)
	fmt.Fprintln(w, "| server | datagrams/s | server CPU per datagram | CPU vs gonet | server CPU use | load CPU use | given up |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	var base float64
	if r, ok := res["gonet"]; ok {
		base, _ = median(pick(r, func(x result) float64 { return x.cpuNs }))
	}
	for _, k := range kinds {
		r := res[k]
		rate, rr := median(pick(r, func(x result) float64 { return x.rate }))
		cpu, cr := median(pick(r, func(x result) float64 { return x.cpuNs }))
		ratio := "—"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f×", cpu/base)
		}
		var lost int64
		for _, x := range r {
			lost += x.lost
		}
		util, _ := median(pick(r, func(x result) float64 { return x.util }))
		lutil, _ := median(pick(r, func(x result) float64 { return x.lutil }))
		fmt.Fprintf(w, "| %s | %.0f ± %.0f | %.0f ± %.0f ns | %s | %.0f%% | %.0f%% | %d |\n", k, rate, rr, cpu, cr, ratio, 100*util, 100*lutil, lost)
	}
}

// pick returns one figure of each result.
func pick(r []result, f func(result) float64) []float64 {
	out := make([]float64, len(r))
	for i, x := range r {
		out[i] = f(x)
	}
	return out
}
