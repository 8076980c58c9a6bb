package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs the load harness against the servers of the command: each
// scenario, streams and churn, from flags and from a config file.
func TestBench(t *testing.T) {
	bin := buildBinary(t)
	addrs := map[string]string{}
	for _, name := range []string{"echo", "packet", "line"} {
		_, lines := startServe(t, bin, "serve", name, "--listen", "127.0.0.1:0", "--loops", "1", "--control", "off")
		addrs[name] = waitListening(t, t.Context(), lines)
	}
	short := []string{"--duration", "200ms", "--warmup", "0s", "--progress", "0"}
	tests := []struct {
		name  string
		args  []string
		sizes []int // of the reports, in order
	}{
		{name: "EchoStream", args: []string{"--conns", "3", addrs["echo"], "--depth", "4"}, sizes: []int{64}}, // flags on either side of ADDR
		{name: "EchoSizes", args: []string{"--conns", "2", "--size", "64,1KiB", addrs["echo"]}, sizes: []int{64, 1024}},
		{name: "EchoChurn", args: []string{"--churn", "--conns", "2", addrs["echo"]}, sizes: []int{64}},
		{name: "Packet", args: []string{"--scenario", "packet", "--size", "255", "--conns", "2", "--depth", "8", addrs["packet"]}, sizes: []int{255}},
		{name: "Line", args: []string{"--scenario", "line", "--size", "200", "--conns", "2", addrs["line"]}, sizes: []int{200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := runProactor(t, bin, exitOK, append(append([]string{"bench", "--json"}, short...), tt.args...)...)
			var reps []benchReport
			if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) != len(tt.sizes) {
				t.Fatalf("%v, %d reports for sizes %v:\n%s", err, len(reps), tt.sizes, out)
			}
			for i, rep := range reps {
				if rep.Size != tt.sizes[i] || rep.Ops == 0 || rep.Rate <= 0 || rep.P50us <= 0 || rep.P99us < rep.P50us || rep.Error != "" {
					t.Fatalf("report %+v", rep)
				}
			}
		})
	}
	t.Run("ConfigFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "load.toml")
		conf := "scenario = \"line\"\naddr = \"" + addrs["line"] + "\"\nsize = [64, \"100B\"]\nconns = 2\ndepth = 2\nduration = \"10m\"\nwarmup = \"0s\"\nprogress = \"0s\"\n"
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// The command line wins over the file: 200ms, not ten minutes.
		out, _ := runProactor(t, bin, exitOK, "bench", "--config", path, "--duration", "200ms")
		if !strings.Contains(out, "line, 64 B, 2 connections × 2 in flight, against "+addrs["line"]) ||
			!strings.Contains(out, "line, 100 B, 2 connections × 2 in flight") ||
			strings.Count(out, "verified  every reply") != 2 {
			t.Fatalf("report:\n%s", out)
		}
	})
	t.Run("WrongServer", func(t *testing.T) {
		// A line load against the echo server: "+OK" never comes back.
		// The dials fail: no report, the error once.
		out, errOut := runProactor(t, bin, exitError, append(append([]string{"bench", "--scenario", "line"}, short...), addrs["echo"])...)
		if out != "" || strings.Count(errOut, "reply differs") != 1 {
			t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
	})
}

func TestBenchErrors(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("conns = 2\nnosuch = 1\n"), 0o600)
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr string
	}{
		{name: "NoServer", args: []string{"bench", "--duration", "100ms", closed}, wantStatus: exitError, wantStderr: "connection refused"},
		{name: "UnknownScenario", args: []string{"bench", "--scenario", "nosuch"}, wantStatus: exitUsage, wantStderr: `unknown scenario "nosuch"`},
		{name: "SizeTooBig", args: []string{"bench", "--scenario", "packet", "--size", "300"}, wantStatus: exitUsage, wantStderr: "out of range"},
		{name: "ChurnDepth", args: []string{"bench", "--churn", "--depth", "2"}, wantStatus: exitUsage, wantStderr: "-depth must be 1"},
		{name: "ZeroConns", args: []string{"bench", "--conns", "0"}, wantStatus: exitUsage, wantStderr: "-conns 0"},
		{name: "UnknownKey", args: []string{"bench", "--config", bad}, wantStatus: exitUsage, wantStderr: `unknown key "nosuch"`},
		{name: "MissingConfig", args: []string{"bench", "--config", bad + ".none"}, wantStatus: exitUsage, wantStderr: "no such file"},
		{name: "TwoAddrs", args: []string{"bench", "a:1", "b:2"}, wantStatus: exitUsage, wantStderr: `unexpected argument "b:2"`},
		{name: "ZeroSize", args: []string{"bench", "--size", "64,0"}, wantStatus: exitUsage, wantStderr: `"0" is not a size`},
		{name: "NanosecondDuration", args: []string{"bench", "--duration", "30ns"}, wantStatus: exitUsage, wantStderr: "at least 1ms"},
		{name: "NegativeRate", args: []string{"bench", "--rate", "-5"}, wantStatus: exitUsage, wantStderr: "--rate -5: want requests a second"},
		{name: "TooMuchInFlight", args: []string{"bench", "--size", "65536", "--depth", "32"}, wantStatus: exitUsage, wantStderr: "would fill the socket buffers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut := runProactor(t, bin, tt.wantStatus, tt.args...)
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("stderr lacks %q:\n%s", tt.wantStderr, errOut)
			}
		})
	}
}
