package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/line"
)

// config is a soak's parsed command line.
type config struct {
	engines, servers []string
	duration, settle time.Duration
	proactor         string   // the binary; "" builds it from tree
	tree             string   // the checkout to build it from
	extra            []string // more flags for every server
	timeouts         faultConfig
	maxConns         int // the line server's, which the floods pass
	streams, depth   int
	churn            int
	silent, slow     int
	resets, garbage  int
	partial, flood   int
	floodEvery       time.Duration
	margins          margins
	progressEvery    time.Duration
}

// serverFlags are the flags the soak gives `proactor serve NAME`: the
// protection that makes each fault meaningful, then the user's own.
func (c *config) serverFlags(name string) []string {
	f := []string{"--shutdown-timeout", "10s"}
	for _, t := range []struct {
		flag string
		d    time.Duration
	}{{"--first-data-timeout", c.timeouts.firstData}, {"--read-timeout", c.timeouts.read}, {"--write-timeout", c.timeouts.write}} {
		if t.d > 0 {
			f = append(f, t.flag, t.d.String())
		}
	}
	if name == "line" && c.maxConns > 0 {
		f = append(f, "--max-conns", strconv.Itoa(c.maxConns))
	}
	return append(f, c.extra...)
}

// soakEngine runs the whole soak against one engine: it starts the
// servers, samples them every second, runs the checked load and the fault
// clients for the duration (or until ctx ends), lets the connections close,
// takes the last sample and stops the servers.
func soakEngine(ctx context.Context, cfg *config, exe, engine string, progress io.Writer) *engineResult {
	er := &engineResult{engine: engine}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		er.failures = append(er.failures, err.Error())
		return er
	}
	defer os.RemoveAll(dir)

	var procs []*serverProc
	defer func() {
		for _, p := range procs {
			p.kill() // after stop, a no-op
		}
	}()
	for _, name := range cfg.servers {
		p, err := startServer(exe, name, engine, dir, cfg.serverFlags(name))
		if err != nil {
			er.failures = append(er.failures, err.Error())
			return er
		}
		procs = append(procs, p)
		er.servers = append(er.servers, &serverResult{name: name})
	}
	fmt.Fprintf(progress, "soak %s: %s\n", engine, serverList(procs))

	// The first scrape starts what a metrics handler starts once; the start
	// figures are taken after it.
	for _, p := range procs {
		p.sample(ctx)
	}
	time.Sleep(500 * time.Millisecond)
	sampleAll(ctx, procs, er.servers)

	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				sampleAll(ctx, procs, er.servers)
			}
		}
	}()

	loads := make([]*correctLoad, len(procs))
	for i, p := range procs {
		churn := 0
		if p.name == "echo" {
			churn = cfg.churn
		}
		if loads[i], err = startCorrect(ctx, p, cfg.streams, cfg.depth, churn); err != nil {
			er.failures = append(er.failures, err.Error())
			loads = loads[:i]
			break
		}
	}
	faultCtx, stopFaults := context.WithCancel(ctx)
	var waits []func()
	if len(er.failures) == 0 {
		for i, p := range procs {
			var w []func()
			er.servers[i].faults, w = startFaults(faultCtx, cfg, p)
			waits = append(waits, w...)
		}
		t0 := time.Now()
		runFor(ctx, cfg, func(elapsed time.Duration) {
			fmt.Fprintf(progress, "soak %s %v: %s\n", engine, elapsed.Round(time.Second), progressLine(er.servers, loads))
		})
		er.duration = time.Since(t0)
	}
	stopFaults()
	for _, l := range loads {
		l.stop(15 * time.Second)
	}
	for _, w := range waits {
		w()
	}
	close(stopSampling)
	<-sampled

	// The clients have all closed their connections: the servers must
	// close theirs and return to where they started.
	er.settled = settle(procs, cfg.settle)
	time.Sleep(time.Second) // goroutines of the last connections to return
	fmt.Fprintf(progress, "soak %s: load stopped; connections closed after %v\n", engine, er.settled.Round(10*time.Millisecond))
	final := sampleAll(context.Background(), procs, er.servers)
	for i, p := range procs {
		r := er.servers[i]
		r.stats = final[i]
		if i < len(loads) {
			r.load = loads[i].result()
		}
		r.exitCode, r.exitErr = p.stop(15 * time.Second)
		er.failures = append(er.failures, verdict(r, cfg.margins)...)
	}
	return er
}

func serverList(procs []*serverProc) string {
	s := ""
	for i, p := range procs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s on %s (pid %d)", p.name, p.addr, p.pid())
	}
	return s
}

// runFor waits for the duration or for ctx, calling report every
// progressEvery.
func runFor(ctx context.Context, cfg *config, report func(time.Duration)) {
	t0 := time.Now()
	end := time.NewTimer(cfg.duration)
	defer end.Stop()
	tick := time.NewTicker(cfg.progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-tick.C:
			report(time.Since(t0))
		}
	}
}

// sampleAll samples every server, adding to its series, and returns their
// counters; a failure is kept as the server's first sampling error.
func sampleAll(ctx context.Context, procs []*serverProc, rs []*serverResult) []proactor.Stats {
	stats := make([]proactor.Stats, len(procs))
	for i, p := range procs {
		r := rs[i]
		if err := p.exited(); err != nil {
			if r.sampleErr == nil {
				r.sampleErr = err
			}
			continue
		}
		s, st, err := p.sample(ctx)
		if err != nil {
			if r.sampleErr == nil && ctx.Err() == nil {
				r.sampleErr = err
			}
			continue
		}
		r.fds.add(int64(s.fds))
		r.rss.add(s.rss)
		r.goroutines.add(int64(s.goroutines))
		r.act.add(int64(s.active))
		stats[i] = st
	}
	return stats
}

// settle waits, at most max, until no server has a connection open, and
// returns how long that took.
func settle(procs []*serverProc, max time.Duration) time.Duration {
	t0 := time.Now()
	for time.Since(t0) < max {
		open := 0
		for _, p := range procs {
			st, err := p.status(context.Background())
			if err != nil {
				return time.Since(t0) // reported by the next sample
			}
			open += st.Active
		}
		if open == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(t0)
}

func progressLine(rs []*serverResult, loads []*correctLoad) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += "; "
		}
		var replies, errs int64
		if i < len(loads) {
			lr := loads[i].result()
			replies, errs = lr.replies, lr.errors
		}
		var fails int64
		for _, f := range r.faults {
			fails += f.failures.Load()
		}
		s += fmt.Sprintf("%s %d replies, %d errors, %d fault failures, %d conns", r.name, replies, errs, fails, r.act.end)
	}
	return s
}

// startFaults starts the fault clients of one server (each kind with its
// own bounded set of workers) and returns their counters and waits.
func startFaults(ctx context.Context, cfg *config, p *serverProc) ([]*faultStats, []func()) {
	var stats []*faultStats
	var waits []func()
	add := func(kind string, n int, fn func(st *faultStats, worker int, rng *rand.Rand)) {
		if n <= 0 {
			return
		}
		st := &faultStats{kind: kind}
		stats = append(stats, st)
		waits = append(waits, workers(ctx, n, func(w int, rng *rand.Rand) { fn(st, w, rng) }))
	}
	t, addr := cfg.timeouts, p.addr
	t.capped = p.name == "line" && cfg.maxConns > 0
	if p.name == "line" {
		t.greeting = line.Greeting
	}
	add("silent", cfg.silent, func(st *faultStats, _ int, _ *rand.Rand) { silentClient(ctx, st, addr, t) })
	switch p.name {
	case "echo":
		add("reset", cfg.resets, func(st *faultStats, _ int, rng *rand.Rand) { resetClient(ctx, st, addr, rng) })
		add("slow reader", (cfg.slow+1)/2, func(st *faultStats, _ int, rng *rand.Rand) { slowClient(ctx, st, addr, t, false, rng) })
		add("never reads", cfg.slow/2, func(st *faultStats, _ int, rng *rand.Rand) { slowClient(ctx, st, addr, t, true, rng) })
	case "packet":
		add("bad header", cfg.garbage, func(st *faultStats, _ int, rng *rand.Rand) { garbageClient(ctx, st, addr, t, rng) })
		add("unfinished", cfg.partial, func(st *faultStats, _ int, _ *rand.Rand) {
			partialClient(ctx, st, addr, t, []byte{200, 'u', 'n', 'f', 'i', 'n', 'i', 's', 'h', 'e', 'd'})
		})
	case "line":
		add("bad lines", cfg.garbage, func(st *faultStats, _ int, rng *rand.Rand) { lineGarbageClient(ctx, st, addr, t, rng) })
		add("unfinished", cfg.partial, func(st *faultStats, _ int, _ *rand.Rand) {
			partialClient(ctx, st, addr, t, []byte("ECHO unfinished"))
		})
		burst := 0 // one worker: the bursts follow one another
		add("flood", min(cfg.flood, 1), func(st *faultStats, _ int, _ *rand.Rand) {
			burst++
			floodBurst(ctx, st, addr, cfg.flood, burst)
			pause(ctx, cfg.floodEvery)
		})
	}
	return stats, waits
}
