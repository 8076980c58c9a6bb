package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/examples/line"
	"github.com/seed487d475b/proactor/examples/packet"
	"github.com/seed487d475b/proactor/internal/loadgen"
)

// benchConfig is a load, from flags or a TOML file with the same names.
type benchConfig struct {
	Addr     string        `toml:"addr"`
	Scenario string        `toml:"scenario"`
	Conns    int           `toml:"conns"`
	Sizes    sizeList      `toml:"size"`
	Depth    int           `toml:"depth"`
	Churn    bool          `toml:"churn"`
	Rate     float64       `toml:"rate"`
	TLS      bool          `toml:"tls"`
	Insecure bool          `toml:"insecure"`
	Duration time.Duration `toml:"duration"`
	Warmup   time.Duration `toml:"warmup"`
	Progress time.Duration `toml:"progress"`
}

// benchAddrs are the scenarios' servers' default addresses.
var benchAddrs = map[string]string{"echo": echo.DefaultAddr, "packet": packet.DefaultAddr, "line": line.DefaultAddr}

// benchReport is the outcome, printed as text or, with --json, as is.
type benchReport struct {
	Scenario    string  `json:"scenario"`
	Addr        string  `json:"addr"`
	Mode        string  `json:"mode"` // stream or churn
	Conns       int     `json:"conns"`
	Size        int     `json:"size"`
	Depth       int     `json:"depth,omitempty"`
	RateTarget  float64 `json:"rate_target,omitempty"` // --rate
	TLS         bool    `json:"tls,omitempty"`
	Unit        string  `json:"unit"` // msg or conn
	Seconds     float64 `json:"seconds"`
	Ops         int64   `json:"ops"`
	Rate        float64 `json:"rate"`
	P50us       float64 `json:"p50_us"`
	P90us       float64 `json:"p90_us"`
	P99us       float64 `json:"p99_us"`
	P999us      float64 `json:"p99_9_us"`
	MaxUs       float64 `json:"max_us"`
	LagP50us    float64 `json:"send_lag_p50_us,omitempty"` // paced: how late the requests went out
	LagP99us    float64 `json:"send_lag_p99_us,omitempty"`
	Failed      int64   `json:"failed,omitempty"` // churn cycles
	Error       string  `json:"error,omitempty"`
	Interrupted bool    `json:"interrupted,omitempty"`

	PerSecond []benchSample `json:"per_second,omitempty"` // the throughput over the run, warm-up included

	hist    *hdrhistogram.Histogram // the latencies, nanoseconds
	started bool                    // the load ran (the dials succeeded)
}

func runBench(args []string, stdout, stderr io.Writer) int {
	cfg := benchConfig{Scenario: "echo", Conns: 50, Sizes: sizeList{64}, Depth: 1, Duration: 10 * time.Second,
		Warmup: time.Second, Progress: time.Second}
	fs := flag.NewFlagSet("proactor bench", flag.ContinueOnError)
	fs.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, "what to send: "+strings.Join(loadgen.Scenarios, ", ")+" (the servers of the same names)")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "connections (with --churn: workers, each connecting in turn)")
	fs.Var(&cfg.Sizes, "size", "bytes per request (`SIZES`: 64, 4KiB; a list such as 64,1KiB,16KiB runs each size in turn) (default 64)")
	fs.IntVar(&cfg.Depth, "depth", cfg.Depth, "messages in flight per connection")
	fs.BoolVar(&cfg.Churn, "churn", cfg.Churn, "connect, send one message, check the reply, close; over and over")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "send `N` requests a second in all (with --churn: connections), on a fixed schedule, latency counted from when each was due (corrected for coordinated omission, as wrk2 does); 0: as fast as the replies come")
	fs.BoolVar(&cfg.TLS, "tls", cfg.TLS, "speak TLS, verifying the server's certificate against the system's roots (with --churn every connection makes a full handshake)")
	fs.BoolVar(&cfg.Insecure, "insecure", cfg.Insecure, "with --tls, do not verify the server's certificate (a self-signed one, say)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured time before it")
	fs.DurationVar(&cfg.Progress, "progress", cfg.Progress, "show a status on stderr this often, redrawn in place on a terminal; 0 for never")
	config := fs.String("config", "", "read the load from the TOML `FILE` (keys: the flags' names, and addr); flags given here win")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	hdrFile := fs.String("hdr", "", "write the latencies to `FILE` in HdrHistogram's percentile distribution format, in µs (with several sizes, a file each: lat.hdr becomes lat-64.hdr, ...)")
	reportFile := fs.String("report", "", "write an HTML report with plots of the latency and throughput to `FILE`")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	addr, err := parseNamed(fs, args, "") // ADDR is optional
	if errors.Is(err, flag.ErrHelp) {
		benchUsage(stdout, fs)
		return exitOK
	}
	if err == nil && *config != "" {
		err = readBenchConfig(*config, fs, &cfg)
	}
	if addr != "" {
		cfg.Addr = addr
	}
	var scs []*loadgen.Scenario
	if err == nil {
		scs, err = checkBench(&cfg)
	}
	if err != nil {
		return usageError(stderr, "bench", fs, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal ends the run gracefully; a second one kills.
	context.AfterFunc(ctx, stop)
	var reps []benchReport
	for i, sc := range scs {
		if ctx.Err() != nil {
			break // interrupted: the sizes left are not run
		}
		rep, rerr := bench(ctx, cfg, sc, stderr)
		if rerr != nil {
			rep.Error, err = rerr.Error(), rerr
		}
		reps = append(reps, rep) // in JSON even one that never started: it has the error
		if !*asJSON && rep.started {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printBench(stdout, rep)
		}
		if err != nil {
			break
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(reps) // a list: one report per size
	}
	if werr := writeBenchFiles(*hdrFile, *reportFile, args, cfg, reps); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		errorf(stderr, "bench: %v", err) // the only place the error is printed
		return exitError
	}
	return exitOK
}

// writeBenchFiles writes the --hdr and --report files of the runs that
// ran, failed ones too: what they measured is what the report shows.
func writeBenchFiles(hdrFile, reportFile string, args []string, cfg benchConfig, reps []benchReport) error {
	reps = slices.DeleteFunc(slices.Clone(reps), func(r benchReport) bool { return !r.started })
	if len(reps) == 0 {
		return nil
	}
	if hdrFile != "" {
		for _, r := range reps {
			if err := writeHDR(sizedPath(hdrFile, r.Size, len(cfg.Sizes) > 1), r.hist); err != nil {
				return fmt.Errorf("--hdr: %w", err)
			}
		}
	}
	if reportFile != "" {
		if err := writeReport(reportFile, args, cfg, reps); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	return nil
}

// readBenchConfig fills cfg from a TOML file, then applies again the flags
// given on the command line, which win.
func readBenchConfig(path string, fs *flag.FlagSet, cfg *benchConfig) error {
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		return fmt.Errorf("config %s: unknown key %q", path, extra[0].String())
	}
	for name, v := range given {
		fs.Set(name, v)
	}
	return nil
}

func checkBench(cfg *benchConfig) ([]*loadgen.Scenario, error) {
	if len(cfg.Sizes) == 0 {
		return nil, errors.New("no --size")
	}
	var scs []*loadgen.Scenario
	for _, size := range cfg.Sizes {
		sc, err := loadgen.NewScenario(cfg.Scenario, size)
		if err != nil {
			return nil, err
		}
		if cfg.Depth*max(sc.Size(), sc.ReplySize()) > loadgen.MaxInFlight {
			return nil, fmt.Errorf("--depth × --size over %d bytes in flight per connection: the requests would fill the socket buffers before a reply is read", loadgen.MaxInFlight)
		}
		scs = append(scs, sc)
	}
	switch {
	case cfg.Conns < 1:
		return nil, fmt.Errorf("--conns %d: want at least 1", cfg.Conns)
	case cfg.Depth < 1:
		return nil, fmt.Errorf("--depth %d: want at least 1", cfg.Depth)
	case cfg.Churn && cfg.Depth != 1:
		return nil, errors.New("--churn sends one message per connection: --depth must be 1")
	case cfg.Duration < time.Millisecond:
		// A bare number in the config file is nanoseconds.
		return nil, fmt.Errorf("--duration %v: give at least 1ms (\"30s\", not 30)", cfg.Duration)
	case !(cfg.Rate >= 0) || math.IsInf(cfg.Rate, 0):
		return nil, fmt.Errorf("--rate %v: want requests a second, or 0 for as fast as the replies come", cfg.Rate)
	case cfg.Warmup < 0 || cfg.Progress < 0:
		return nil, errors.New("--warmup and --progress must not be negative")
	case cfg.Insecure && !cfg.TLS:
		return nil, errors.New("--insecure goes with --tls")
	}
	if cfg.Addr == "" {
		cfg.Addr = benchAddrs[cfg.Scenario]
	}
	return scs, nil
}

// sizeList is --size: one size or several, each a byte count with an
// optional unit (64, 4KiB); in a config file a number, a string or a list.
type sizeList []int

func (l *sizeList) String() string {
	parts := make([]string, len(*l))
	for i, n := range *l {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (l *sizeList) Set(s string) error {
	var out sizeList
	for part := range strings.SplitSeq(s, ",") {
		n, err := humanize.ParseBytes(strings.TrimSpace(part))
		if err != nil || n == 0 || n > 1<<30 {
			return fmt.Errorf("%q is not a size", part)
		}
		out = append(out, int(n))
	}
	*l = out
	return nil
}

// UnmarshalTOML takes size = 64, size = "4KiB" or size = [64, "4KiB"].
func (l *sizeList) UnmarshalTOML(v any) error {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprint(it)
	}
	return l.Set(strings.Join(parts, ","))
}

// bench runs the load: connect, warm up, measure, then stop sending and
// check every reply still in flight. An interrupt ends the measurement
// early; what was measured is reported.
func bench(ctx context.Context, cfg benchConfig, sc *loadgen.Scenario, stderr io.Writer) (benchReport, error) {
	rep := benchReport{Scenario: cfg.Scenario, Addr: cfg.Addr, Mode: "stream", Conns: cfg.Conns, Size: sc.Size(),
		Depth: cfg.Depth, TLS: cfg.TLS, Unit: "msg", RateTarget: cfg.Rate}
	if cfg.Churn {
		rep.Mode, rep.Depth, rep.Unit = "churn", 0, "conn"
	}
	run, err := loadgen.New(ctx, cfg.Addr, sc, cfg.Depth)
	if err != nil {
		return rep, err
	}
	if cfg.TLS {
		run.UseTLS(&tls.Config{InsecureSkipVerify: cfg.Insecure})
	}
	run.SetRate(cfg.Rate)
	var conns []net.Conn
	if !cfg.Churn {
		if conns, err = run.DialAll(cfg.Conns, nil); err != nil {
			return rep, err
		}
		defer loadgen.CloseAll(conns)
	}
	rep.started = true
	p := benchWatch{w: stderr, tty: isTerminal(stderr), every: cfg.Progress, run: run, unit: rep.Unit,
		size: humanize.IBytes(uint64(sc.Size())), start: time.Now()}
	wait := run.Start(conns, cfg.Conns)
	p.phase(ctx, "warm-up", cfg.Warmup)
	run.Measure()
	t0, ops0 := time.Now(), run.Done()
	rep.Interrupted = !p.phase(ctx, "measure", cfg.Duration)
	rep.Ops, rep.Seconds = run.Done()-ops0, time.Since(t0).Seconds()
	run.Stop()
	p.done()
	rep.PerSecond = p.samples
	// Bound the drain: a server that lost a message must not hang the run.
	// A paced stream bounds its own, and a deadline set here would hold
	// it in a read it makes to wait for the next due time.
	for _, c := range conns {
		if cfg.Rate == 0 {
			c.SetDeadline(time.Now().Add(10 * time.Second))
		}
	}
	wait()
	rep.Rate = float64(rep.Ops) / rep.Seconds
	us := func(q float64) float64 { return float64(run.Quantile(q).Nanoseconds()) / 1e3 }
	rep.P50us, rep.P90us, rep.P99us, rep.P999us = us(50), us(90), us(99), us(99.9)
	rep.MaxUs = float64(run.Max().Nanoseconds()) / 1e3
	if cfg.Rate > 0 {
		rep.LagP50us, rep.LagP99us = float64(run.SendLag(50).Nanoseconds())/1e3, float64(run.SendLag(99).Nanoseconds())/1e3
	}
	rep.Failed = run.Failed()
	rep.hist = run.Histogram()
	return rep, run.Err()
}

func si(v float64) string {
	n, prefix := humanize.ComputeSI(v)
	return fmt.Sprintf("%.1f%s", n, prefix)
}

func printBench(w io.Writer, r benchReport) {
	what := fmt.Sprintf("%s, %s, %d connections × %d in flight", r.Scenario, humanize.IBytes(uint64(r.Size)), r.Conns, r.Depth)
	if r.Mode == "churn" {
		what = fmt.Sprintf("%s, %s, churn: %d workers each connecting, sending one message and closing (over TLS: a full handshake each)", r.Scenario, humanize.IBytes(uint64(r.Size)), r.Conns)
	}
	against := r.Addr
	if r.TLS {
		against += " over TLS"
	}
	if r.RateTarget > 0 {
		against += fmt.Sprintf(", paced at %s %s/s", si(r.RateTarget), r.Unit)
	}
	fmt.Fprintf(w, "load      %s, against %s\n", what, against)
	measured := fmt.Sprintf("%.1fs", r.Seconds)
	if r.Interrupted {
		measured += " (interrupted)"
	}
	fmt.Fprintf(w, "measured  %s: %d %s, %s %s/s", measured, r.Ops, r.Unit, si(r.Rate), r.Unit)
	if r.Mode == "stream" {
		fmt.Fprintf(w, ", %s/s each way", humanize.IBytes(uint64(r.Rate*float64(r.Size))))
	}
	fmt.Fprintln(w)
	d := func(us float64) time.Duration { return time.Duration(us * 1e3).Round(time.Microsecond) }
	fmt.Fprintf(w, "latency   p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", d(r.P50us), d(r.P90us), d(r.P99us), d(r.P999us), d(r.MaxUs))
	if r.RateTarget > 0 {
		fmt.Fprintf(w, "send lag  p50 %v  p99 %v (the generator's own lateness, part of the latency)\n", d(r.LagP50us), d(r.LagP99us))
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(w, "FAILED    the run is void (the error follows on stderr)\n")
	default:
		fmt.Fprintf(w, "verified  every reply, byte for byte\n")
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, "failed    %d connection cycles\n", r.Failed)
	}
}

func benchUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: proactor bench [flags] [ADDR]\n\n")
	fmt.Fprintf(w, "Runs a load against a server (by default the scenario's own on its default\n")
	fmt.Fprintf(w, "address: echo %s, packet %s, line %s) and checks every reply.\n\nFlags:\n",
		benchAddrs["echo"], benchAddrs["packet"], benchAddrs["line"])
	printFlags(w, fs)
}
