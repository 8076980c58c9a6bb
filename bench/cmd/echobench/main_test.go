package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for echobench: run() re-executes
// os.Executable() as `... server KIND`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		os.Exit(serverMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the quick loads against proactor's epoll engine and the Go
// net baseline for about a second in all, checking every echoed byte, and
// renders the report.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and runs loads for a few seconds")
	}
	o, err := parseFlags([]string{"--quick", "--servers", "proactor-epoll,gonet", "--pin=false", "--perf", "off",
		"--duration", "100ms", "--warmup", "50ms", "--settle", "50ms", "--quiet-wait", "0", "--retries", "0"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := run(o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + progress.String())
	if want := len(quickLoads) * 2; len(rep.Runs) != want {
		t.Fatalf("%d runs, want %d", len(rep.Runs), want)
	}
	for _, r := range rep.Runs {
		if r.Err != "" {
			t.Errorf("%s %s: %s", r.Load, r.Server, r.Err)
			continue
		}
		if r.Ops <= 0 || r.Rate <= 0 || r.P99us <= 0 {
			t.Errorf("%s %s: no figures: %+v", r.Load, r.Server, r)
		}
		if strings.HasPrefix(r.Load, "idle") && r.RSSAfter <= 0 {
			t.Errorf("%s %s: no RSS: %+v", r.Load, r.Server, r)
		}
	}
	var md bytes.Buffer
	rep.markdown(&md)
	for _, want := range []string{"## Summary", "| 20×64B×1 |", "| idle 500 |", "Every run completed"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

func TestParsePerfCount(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		event   string
		want    int64
		wantErr bool
	}{
		{name: "counted", out: "1234567,,instructions:u,100.00,,\n", event: evInstructions, want: 1234567},
		{name: "not supported", out: "<not supported>,,instructions,0,100.00,,\n", event: evInstructions, wantErr: true},
		{name: "not counted", out: "<not counted>,,instructions,0,100.00,,\n", event: evInstructions, wantErr: true},
		{name: "no line", out: "perf: command not found\n", event: evInstructions, wantErr: true},
		{name: "second of three", out: "<not supported>,,instructions,0,100.00,,\n29,,raw_syscalls:sys_enter,564095,100.00,,\n3,,context-switches,1,100.00,,\n",
			event: evSyscalls, want: 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePerfCount([]byte(tt.out), tt.event)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLoadNames(t *testing.T) {
	tests := []struct {
		want string
		name string
	}{
		{want: "1000x64Bx1", name: "1000×64B×1"},
		{want: "10×16KiB×4", name: "10×16KiB×4"},
		{want: "churn", name: "churn 16×64B"},
		{want: "idle", name: "idle 10000"},
	}
	for _, tt := range tests {
		found := false
		for _, l := range fullLoads {
			if matchLoad(l, tt.want) {
				found = found || l.name() == tt.name
			}
		}
		if !found {
			t.Errorf("--loads %s does not select %s", tt.want, tt.name)
		}
	}
	if _, err := parseFlags([]string{"--loads", "nope"}, os.Stderr); err == nil {
		t.Error("--loads nope accepted")
	}
	if _, err := parseFlags([]string{"--servers", "nope"}, os.Stderr); err == nil {
		t.Error("--servers nope accepted")
	}
}

// TestSmokeTLS runs the quick TLS loads against proactor's epoll engine,
// the Go baseline and nbio, every echoed byte checked through TLS; netpoll
// has no TLS and is refused. Pinned, as the benchmark runs: the servers
// get GOMAXPROCS=1, so nbio runs one poller. (With two, nbio's TLS echo
// under the race detector now and then sends a reply that fails the
// check; not looked into further.) This process is pinned to CPU 1 from
// then on; its GOMAXPROCS is put back.
func TestSmokeTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and runs loads for a few seconds")
	}
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	o, err := parseFlags([]string{"--tls", "--quick", "--servers", "proactor-epoll,gonet,nbio", "--pin=true", "--perf", "off",
		"--duration", "100ms", "--warmup", "50ms", "--settle", "50ms", "--quiet-wait", "0", "--retries", "0"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := run(o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + progress.String())
	if want := len(quickTLSLoads) * 3; len(rep.Runs) != want {
		t.Fatalf("%d runs, want %d", len(rep.Runs), want)
	}
	for _, r := range rep.Runs {
		if r.Err != "" || r.Failed > 0 || r.Ops <= 0 {
			t.Errorf("%s %s: %+v", r.Load, r.Server, r)
		}
	}
	var md bytes.Buffer
	rep.markdown(&md)
	if !strings.Contains(md.String(), "**TLS**") || !strings.Contains(md.String(), "| churn 8×64B |") {
		t.Errorf("report:\n%s", md.String())
	}
	if _, err := parseFlags([]string{"--tls", "--servers", "netpoll"}, os.Stderr); err == nil {
		t.Error("--tls --servers netpoll accepted")
	}
}
