// Command soak runs `proactor serve echo`, `serve packet` and `serve line`
// on each engine in turn under a long mixed load with faults, checks every
// reply, and reports each server's descriptors, goroutines and RSS at the
// start, the peak and the end.
//
//	soak                                   # 10 minutes per engine
//	soak --duration 1m --engines epoll     # a shorter look at one engine
//
// The load, for the whole duration and all at once: on every server,
// streams with messages in flight whose every reply is checked byte for
// byte (internal/loadgen), and on echo churn workers (connect, one
// message, close). The faults, each a bounded set of workers: silent
// clients (every server), resets mid-transfer with SO_LINGER 0, slow
// readers and readers that never read (echo), bad packet headers (packet),
// junk and over-long lines (line), unfinished requests (packet, line) and
// floods of connections past --max-conns (line).
//
// It fails (exit status 1) if a correct client saw an error or a wrong
// byte, if a fault client was mistreated (a wrong echo, a reply where none
// was due, a connection kept past the timeout that should close it), if a
// server kept connections, descriptors or goroutines once the clients had
// gone, panicked, died or did not exit cleanly on SIGTERM.
//
// Linux only: it reads /proc.
package main

import (
	"context"
	"errors"
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

	"github.com/seed487d475b/proactor"
)

func main() {
	os.Exit(soakMain(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	engines := fs.String("engines", strings.Join(proactor.Engines(), ","), "engines to soak, in turn, comma-separated")
	servers := fs.String("servers", "echo,packet,line", "servers to run on each engine, comma-separated")
	extra := fs.String("server-flags", "", "more flags for every `proactor serve`, space-separated (e.g. \"--write-max 512KiB\")")
	fs.DurationVar(&c.duration, "duration", 10*time.Minute, "load and faults per engine")
	fs.DurationVar(&c.settle, "settle", 30*time.Second, "after the load, wait at most this long for the servers to close every connection")
	fs.StringVar(&c.proactor, "proactor", "", "the proactor binary (default: build ./cmd/proactor of --tree into a temporary directory)")
	fs.StringVar(&c.tree, "tree", defaultTree(), "the proactor checkout to build the binary from")
	fs.DurationVar(&c.timeouts.firstData, "first-data-timeout", 2*time.Second, "the servers' --first-data-timeout (0: off)")
	fs.DurationVar(&c.timeouts.read, "read-timeout", 3*time.Second, "the servers' --read-timeout (0: off)")
	fs.DurationVar(&c.timeouts.write, "write-timeout", 3*time.Second, "the servers' --write-timeout (0: off)")
	fs.DurationVar(&c.timeouts.slack, "slack", 3*time.Second, "how long past a timeout a fault client waits before it calls the connection kept")
	fs.DurationVar(&c.timeouts.slowLife, "slow-life", 20*time.Second, "how long a slow reader reads before it leaves")
	fs.IntVar(&c.maxConns, "max-conns", 256, "the line server's --max-conns, which each flood passes")
	fs.IntVar(&c.streams, "streams", 8, "checked stream connections per server")
	fs.IntVar(&c.depth, "depth", 16, "messages in flight per stream")
	fs.IntVar(&c.churn, "churn", 2, "checked churn workers on echo (connect, one message, close)")
	fs.IntVar(&c.silent, "silent", 16, "silent clients per server at a time")
	fs.IntVar(&c.resets, "resets", 4, "workers resetting connections mid-transfer on echo")
	fs.IntVar(&c.slow, "slow", 4, "slow readers on echo at a time, half of them never reading")
	fs.IntVar(&c.garbage, "garbage", 2, "workers sending bad headers (packet) and bad lines (line)")
	fs.IntVar(&c.partial, "partial", 8, "unfinished requests at a time on packet and line")
	fs.IntVar(&c.flood, "flood", 300, "connections per flood on line")
	fs.DurationVar(&c.floodEvery, "flood-every", 5*time.Second, "pause between floods")
	fs.Int64Var(&c.margins.fds, "fd-margin", 4, "descriptors the end of a run may be above its start")
	fs.Int64Var(&c.margins.goroutines, "goroutine-margin", 8, "goroutines the end of a run may be above its start")
	fs.DurationVar(&c.progressEvery, "progress", 30*time.Second, "print a progress line this often")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.engines = splitList(*engines)
	c.servers = splitList(*servers)
	c.extra = strings.Fields(*extra)
	for _, s := range c.servers {
		if _, ok := scenarioSize[s]; !ok {
			return nil, fmt.Errorf("unknown server %q (have echo, packet, line)", s)
		}
	}
	switch {
	case len(c.engines) == 0 || len(c.servers) == 0:
		return nil, errors.New("no engine or no server to soak")
	case c.duration <= 0 || c.progressEvery <= 0:
		return nil, errors.New("--duration and --progress must be positive")
	case c.streams < 1 || c.depth < 1:
		return nil, errors.New("--streams and --depth must be at least 1")
	case c.timeouts.slack <= 0 || c.timeouts.slowLife <= 0:
		return nil, errors.New("--slack and --slow-life must be positive")
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func soakMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	// SIGINT or SIGTERM ends the load early; the servers are still stopped
	// and the report printed.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := raiseNofile(); err != nil {
		fmt.Fprintf(stderr, "soak: raising RLIMIT_NOFILE: %v\n", err)
	}

	exe, commit := cfg.proactor, "(given binary)"
	if exe == "" {
		dir, err := os.MkdirTemp("", "soak-bin-")
		if err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if cfg.tree == "" {
			fmt.Fprintf(stderr, "soak: give --tree (the proactor checkout) or --proactor (a binary)\n")
			return 2
		}
		fmt.Fprintf(stderr, "soak: building cmd/proactor in %s\n", cfg.tree)
		if exe, commit, err = buildProactor(cfg.tree, dir); err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 1
		}
	}

	fmt.Fprintf(stdout, "## Soak: %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(stdout, "- tree: %s; %s %s/%s; %d CPUs; kernel %s\n", commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), kernelRelease())
	fmt.Fprintf(stdout, "- command: `soak %s`\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "- servers: `proactor serve NAME --engine E %s` (line also `--max-conns %d`)\n\n",
		strings.Join(cfg.serverFlags("echo"), " "), cfg.maxConns)
	failed := false
	for _, engine := range cfg.engines {
		if ctx.Err() != nil {
			break
		}
		er := soakEngine(ctx, cfg, exe, engine, stderr)
		er.write(stdout)
		failed = failed || len(er.failures) > 0
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "Interrupted: the runs above are shorter than asked.\n")
		failed = true
	}
	if failed {
		return 1
	}
	return 0
}
