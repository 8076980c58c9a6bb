package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/seed487d475b/proactor/internal/loadgen"
)

// isTerminal reports whether w is a terminal, where a status line can be
// redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// benchSample is the throughput of one second of a run (less for the last
// of a phase, which ends between two seconds).
type benchSample struct {
	At       float64 `json:"t"`       // seconds from the start of the run to the end of the sample
	Seconds  float64 `json:"seconds"` // the sample's span
	Ops      int64   `json:"ops"`     // operations completed in it
	Measured bool    `json:"measured"`
}

// Rate returns the sample's operations a second.
func (s benchSample) Rate() float64 { return float64(s.Ops) / s.Seconds }

// sampleMerge is the span under which the end of a phase is added to the
// phase's last sample rather than made one of its own: a few milliseconds
// of operations give a rate that means nothing.
const sampleMerge = 250 * time.Millisecond

// benchWatch follows a running load: a throughput sample every second, and
// a status line on w every `every`, redrawn in place on a terminal and a
// line each otherwise. One goroutine uses it.
type benchWatch struct {
	w       io.Writer
	tty     bool
	every   time.Duration // 0: no status
	run     *loadgen.Run
	unit    string // "msg", "conn"
	size    string // "64 B"
	start   time.Time
	samples []benchSample
	drawn   bool // a status line is on the terminal
}

// phase waits d, or until the run stops on a failure, sampling and
// reporting; it returns false if ctx ended first.
func (b *benchWatch) phase(ctx context.Context, name string, d time.Duration) bool {
	end := time.NewTimer(d)
	defer end.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	var status <-chan time.Time
	if b.every > 0 {
		t := time.NewTicker(b.every)
		defer t.Stop()
		status = t.C
	}
	begin := time.Now()
	last, lastOps, first := begin, b.run.Done(), true
	sample := func(now time.Time, final bool) {
		ops := b.run.Done()
		s := benchSample{At: now.Sub(b.start).Seconds(), Seconds: now.Sub(last).Seconds(), Ops: ops - lastOps, Measured: name == "measure"}
		switch {
		case final && !first && now.Sub(last) < sampleMerge:
			p := &b.samples[len(b.samples)-1]
			p.At, p.Seconds, p.Ops = s.At, p.Seconds+s.Seconds, p.Ops+s.Ops
		case s.Seconds >= 0.01:
			b.samples = append(b.samples, s)
			first = false
		}
		last, lastOps = now, ops
	}
	shown, shownOps := begin, lastOps
	for {
		select {
		case now := <-end.C:
			sample(now, true)
			return true
		case <-ctx.Done():
			sample(time.Now(), true)
			return false
		case <-b.run.Stopped(): // a stream failed: the run is over
			sample(time.Now(), true)
			return true
		case now := <-second.C:
			sample(now, false)
		case now := <-status:
			ops := b.run.Done()
			b.status(name, now.Sub(begin), d, float64(ops-shownOps)/now.Sub(shown).Seconds())
			shown, shownOps = now, ops
		}
	}
}

// status shows how far the phase is, the recent rate and, measuring, the
// latency so far.
func (b *benchWatch) status(phase string, at, of time.Duration, rate float64) {
	line := fmt.Sprintf("proactor bench: %s, %s %v of %v  %s %s/s", b.size, phase, at.Round(time.Second), of, si(rate), b.unit)
	if target := b.run.Rate(); target > 0 {
		line += fmt.Sprintf(" (paced at %s)", si(target))
	}
	if phase == "measure" {
		line += fmt.Sprintf("  p50 %v  p99 %v", b.run.Quantile(50).Round(time.Microsecond), b.run.Quantile(99).Round(time.Microsecond))
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
		b.drawn = true
		return
	}
	fmt.Fprintln(b.w, line)
}

// done clears the status line from the terminal, so that what follows
// starts on a clean line.
func (b *benchWatch) done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}
