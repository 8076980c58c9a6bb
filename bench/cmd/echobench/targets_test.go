package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixedRun is one run's figures for the report tests.
type fixedRun struct {
	server, load      string
	cpu, sys, p999    float64
	instr, rssPerConn float64
}

func fixedReport(callgrind bool, baseline string, servers, loads []string, runs []fixedRun) *report {
	r := &report{Servers: servers, Loads: loads, Rounds: 1, Baseline: baseline, Callgrind: callgrind,
		Machine: machine{Events: []string{evSyscalls}, Date: "fixed"}}
	for _, f := range runs {
		unit := "msg"
		if strings.HasPrefix(f.load, "idle") {
			unit = "conn"
		}
		r.Runs = append(r.Runs, result{Server: f.server, Load: f.load, Unit: unit, Round: 1, Ops: 1000, Rate: 1000,
			P50us: 1, P99us: 1, P999us: f.p999, CPUPerOp: f.cpu, SyscallsPerOp: f.sys,
			UserInstrPerOp: f.instr, RSSPerConn: f.rssPerConn})
	}
	return r
}

// TestTargetsTable renders issue 14's targets table from fixed figures: a
// run without callgrind and one under it, as --from-json joins them.
func TestTargetsTable(t *testing.T) {
	servers := []string{"proactor-epoll", "proactor-uring", "gnet", "cfloor"}
	loads := []string{"1000×64B×1", "10000×64B×1", "churn 16×64B", "idle 10000"}
	cpuRep := fixedReport(false, "gnet", servers, loads, []fixedRun{
		{server: "proactor-epoll", load: "1000×64B×1", cpu: 9, sys: 1, p999: 900},
		{server: "proactor-uring", load: "1000×64B×1", cpu: 8, sys: 0.5, p999: 1100},
		{server: "gnet", load: "1000×64B×1", cpu: 10, sys: 1, p999: 1000},
		{server: "cfloor", load: "1000×64B×1", cpu: 8.8, sys: 1, p999: 800},
		// uring and cfloor failed here: their cells are empty.
		{server: "proactor-epoll", load: "10000×64B×1", cpu: 12, sys: 1.2, p999: 5000},
		{server: "gnet", load: "10000×64B×1", cpu: 10, sys: 1, p999: 6000},
		{server: "proactor-epoll", load: "churn 16×64B", cpu: 80, sys: 10, p999: 100},
		{server: "gnet", load: "churn 16×64B", cpu: 80, sys: 10, p999: 100},
		{server: "proactor-epoll", load: "idle 10000", rssPerConn: 485},
		{server: "proactor-uring", load: "idle 10000", rssPerConn: 380},
		{server: "gnet", load: "idle 10000", rssPerConn: 4000},
	})
	cgRep := fixedReport(true, "gnet", []string{"proactor-epoll", "gnet", "cfloor"}, loads[:2], []fixedRun{
		{server: "proactor-epoll", load: "1000×64B×1", instr: 850},
		{server: "gnet", load: "1000×64B×1", instr: 1000},
		{server: "proactor-epoll", load: "10000×64B×1", instr: 903},
		{server: "gnet", load: "10000×64B×1", instr: 1000},
	})
	cpuRep.cg = cgRep

	tests := []struct {
		name string
		rep  *report
		want []string
	}{
		{name: "both runs", rep: cpuRep, want: []string{
			"## Against issue 14's targets",
			"| 1000×64B×1 | proactor-epoll | 0.85× met | 0.90× met | 1.02× met | 1.00× met |  | 0.90× met |",
			"| 1000×64B×1 | proactor-uring | – | 0.80× met | 0.91× met | 0.50× met | 0.89× met | 1.10× **not met** |",
			"| 10000×64B×1 | proactor-epoll | 0.903× **not met** | 1.20× **not met** | – | 1.20× **not met** |  | 0.83× met |",
			"| 10000×64B×1 | proactor-uring | – | – | – | – | – | – |",
			"| idle 10000 | proactor-epoll | 485 B **not met** |",
			"| idle 10000 | proactor-uring | 380 B met |",
			"11 of 16 targets checked here are met.",
		}},
		{name: "callgrind run alone", rep: cgRep, want: []string{
			"This run was under callgrind",
			"| 1000×64B×1 | proactor-epoll | 0.85× met | – | – | – |  | – |",
			"1 of 2 targets checked here are met.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var md bytes.Buffer
			tt.rep.markdown(&md)
			for _, want := range tt.want {
				if !strings.Contains(md.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, md.String())
				}
			}
			if strings.Contains(md.String(), "| churn 16×64B | proactor-epoll |") {
				t.Errorf("churn is no load of the targets:\n%s", md.String())
			}
		})
	}

	var md bytes.Buffer
	for _, base := range []string{"gonet", ""} {
		r := *cpuRep
		r.Baseline = base
		md.Reset()
		r.markdown(&md)
		if strings.Contains(md.String(), "issue 14") {
			t.Errorf("baseline %q: targets table shown:\n%s", base, md.String())
		}
	}
}

// TestBaseline checks --baseline: its default, that it must name a server
// that runs, that the report's ratios refer to it, and that --from-json
// joins a callgrind run with one without it.
func TestBaseline(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr bool
	}{
		{name: "default", args: []string{"--servers", "proactor-epoll,gnet"}, want: "gonet"},
		{name: "gnet", args: []string{"--servers", "proactor-epoll,gnet", "--baseline", "gnet"}, want: "gnet"},
		{name: "cfloor", args: []string{"--servers", "proactor-epoll,cfloor", "--baseline", "cfloor"}, want: "cfloor"},
		{name: "unknown", args: []string{"--servers", "proactor-epoll,gnet", "--baseline", "nope"}, wantErr: true},
		{name: "not running", args: []string{"--servers", "proactor-epoll,gonet", "--baseline", "gnet"}, wantErr: true},
		{name: "re-render", args: []string{"--from-json", "x.json", "--baseline", "gnet"}, want: "gnet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, os.Stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err == nil && o.baseline != tt.want {
				t.Errorf("baseline %q, want %q", o.baseline, tt.want)
			}
		})
	}

	// The issue-14 runs of docs/BENCHMARKS.md ("Reproduce") select what
	// they say.
	o, err := parseFlags(strings.Fields("--baseline gnet --rounds 5 --servers proactor-epoll,proactor-uring,gnet,nbio,cfloor "+
		"--loads 1000x64Bx1,100x64Bx16,10x16KiBx4,10000x64Bx1,idle"), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range o.loads {
		names = append(names, l.name())
	}
	if got, want := strings.Join(names, ","), strings.Join(append(targetLoads, "idle 10000"), ","); got != want {
		t.Errorf("issue-14 loads %s, want %s", got, want)
	}

	r := fixedReport(false, "gnet", []string{"proactor-epoll", "gonet", "gnet"}, []string{"1000×64B×1"}, []fixedRun{
		{server: "proactor-epoll", load: "1000×64B×1", cpu: 9, p999: 900},
		{server: "gonet", load: "1000×64B×1", cpu: 20, p999: 900},
		{server: "gnet", load: "1000×64B×1", cpu: 10, p999: 1000},
	})
	var md bytes.Buffer
	r.markdown(&md)
	for _, want := range []string{
		"multiple of gnet's (lower is better)",
		"| 1000×64B×1 | 9.00 (0.90×) | 20.00 (2.00×) | 10.00 |",   // CPU per operation
		"| 1000×64B×1 | 900µs (0.90×) | 900µs (0.90×) | 1.00ms |", // p99.9
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}

	// Saved runs: one under callgrind and one not, in either order.
	dir := t.TempDir()
	save := func(name string, r *report) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cpu := save("cpu.json", r)
	cg := save("cg.json", fixedReport(true, "gnet", r.Servers, r.Loads, nil))
	for _, paths := range [][]string{{cpu, cg}, {cg, cpu}} {
		rep, err := loadReports(paths)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Callgrind || rep.cg == nil || !rep.cg.Callgrind || rep.base() != "gnet" {
			t.Errorf("%v: joined wrongly: callgrind %v, companion %v, baseline %s", paths, rep.Callgrind, rep.cg != nil, rep.base())
		}
	}
	if _, err := loadReports([]string{cpu, cpu}); err == nil {
		t.Error("two runs without callgrind joined")
	}
	// A report saved before --baseline has none: gonet, as then.
	if old := (&report{}); old.base() != "gonet" {
		t.Errorf("old report's baseline %s", old.base())
	}
}
