package main

import (
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
)

// progressMin is the smallest transfer that shows progress: smaller ones
// are over before a report would help.
const progressMin = 8 << 20

// progress reports a transfer on a writer (stderr) about once a second,
// and once at the end. On a terminal each report overwrites the last. It
// is used by one goroutine at a time: the command's, or watch's until
// stopped.
type progress struct {
	w     io.Writer
	what  string // "put NAME", "get NAME"
	total int64
	on    bool
	tty   bool
	start time.Time
	last  time.Time // of the last report
	n     int64     // bytes done
}

// newProgress starts timing a transfer of total bytes; it reports only if
// show is set and the transfer is large enough.
func newProgress(w io.Writer, show bool, what string, total int64) *progress {
	p := &progress{w: w, what: what, total: total, on: show && total >= progressMin, start: time.Now()}
	p.last = p.start
	p.tty = isTerminal(w)
	return p
}

// Write counts len(b) bytes done, so that a download reports by being one
// of the copy's destinations.
func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); p.on && now.Sub(p.last) >= time.Second {
		p.report(now)
	}
	return len(b), nil
}

// watch reports what sent returns once a second until stop is called: an
// upload goes out from the event loop, so the command can only look.
func (p *progress) watch(sent func() int64) (stop func()) {
	if !p.on {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				p.n = sent()
				p.report(now)
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// report prints bytes done, share and mean rate.
func (p *progress) report(now time.Time) {
	p.last = now
	pct := 100
	if p.total > 0 {
		pct = int(p.n * 100 / p.total)
	}
	line := fmt.Sprintf("%s: %s of %s (%d%%), %s/s", p.what, humanize.IBytes(uint64(p.n)),
		humanize.IBytes(uint64(p.total)), pct, rate(p.n, now.Sub(p.start)))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// finish reports the whole transfer: n bytes, the time taken, and how it
// ended ("stored", "verified").
func (p *progress) finish(n int64, how string) {
	if !p.on {
		return
	}
	d := time.Since(p.start)
	line := fmt.Sprintf("%s: %s in %s (%s/s), %s", p.what, humanize.IBytes(uint64(n)),
		d.Round(time.Millisecond), rate(n, d), how)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// rate formats n bytes over d as SI bytes ("480 MB"), per second.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return humanize.Bytes(uint64(float64(n) / d.Seconds()))
}
