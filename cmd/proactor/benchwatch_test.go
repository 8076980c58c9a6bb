package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/examples/echo"
	"github.com/seed487d475b/proactor/internal/loadgen"
	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestBenchStatus follows a paced load for 1.15s with a status every
// 100ms: on a terminal each status overwrites the last and the end clears
// it, elsewhere each is a line; either way the throughput is one sample,
// the last 0.15s folded into the first second's.
func TestBenchStatus(t *testing.T) {
	_, addr := servertest.Start(t, echo.Handler{})
	sc, err := loadgen.NewScenario("echo", 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{false, true} {
		run, err := loadgen.New(t.Context(), addr, sc, 1)
		if err != nil {
			t.Fatal(err)
		}
		run.SetRate(1000)
		conns, err := run.DialAll(2, nil)
		if err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		b := benchWatch{w: &w, tty: tty, every: 100 * time.Millisecond, run: run, unit: "msg", size: "64 B", start: time.Now()}
		wait := run.Start(conns, 0)
		run.Measure()
		b.phase(t.Context(), "measure", 1150*time.Millisecond)
		run.Stop()
		b.done()
		wait()
		loadgen.CloseAll(conns)
		if err := run.Err(); err != nil {
			t.Fatal(err)
		}
		out := w.String()
		sep := "\n"
		if tty {
			if strings.Contains(out, "\n") || !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\r\x1b[K") {
				t.Fatalf("tty: want statuses each after a \\r, the last cleared, no newline: %q", out)
			}
			out, sep = strings.TrimSuffix(strings.TrimPrefix(out, "\r"), "\r\x1b[K"), "\x1b[K\r"
			out = strings.TrimSuffix(out, "\x1b[K")
		} else if strings.Contains(out, "\r") || !strings.HasSuffix(out, "\n") {
			t.Fatalf("not a tty: want lines: %q", out)
		}
		statuses := strings.Split(strings.TrimSuffix(out, "\n"), sep)
		if len(statuses) < 5 || len(statuses) > 12 {
			t.Fatalf("tty %v: %d statuses in 1.15s, one every 100ms:\n%q", tty, len(statuses), out)
		}
		for _, s := range statuses {
			if !strings.HasPrefix(s, "proactor bench: 64 B, measure ") || !strings.Contains(s, "msg/s (paced at 1.0k)  p50 ") {
				t.Fatalf("tty %v: status %q", tty, s)
			}
		}
		if len(b.samples) != 1 || b.samples[0].Seconds < 1.1 || !b.samples[0].Measured {
			t.Fatalf("samples %+v: want one of about 1.15s", b.samples)
		}
	}
}
