package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed487d475b/proactor"
)

// series is one figure of a server over a run: the first sample, the
// highest and the last.
type series struct {
	start, peak, end int64
	n                int
}

func (s *series) add(v int64) {
	if s.n == 0 {
		s.start = v
	}
	s.peak = max(s.peak, v)
	s.end = v
	s.n++
}

// serverResult is everything the soak saw of one server.
type serverResult struct {
	name                      string
	fds, rss, goroutines, act series
	stats                     proactor.Stats // at the end
	load                      loadResult
	faults                    []*faultStats
	sampleErr                 error // the first failed sample
	exitCode                  int
	exitErr                   error
}

// engineResult is one engine's run.
type engineResult struct {
	engine   string
	duration time.Duration
	settled  time.Duration // how long the connections took to close after the load
	servers  []*serverResult
	failures []string
}

// margins are how far the end of a run may be above its start before it
// counts as a leak.
type margins struct{ fds, goroutines int64 }

// verdict lists what makes the run fail: a correct client that saw an
// error or a wrong byte, a fault client the server mistreated, descriptors
// or goroutines left over, connections still open after the clients left,
// a panic, a server that died or did not exit cleanly.
func verdict(r *serverResult, m margins) []string {
	var out []string
	add := func(format string, args ...any) {
		out = append(out, r.name+": "+fmt.Sprintf(format, args...))
	}
	if r.load.errors > 0 || r.load.err != nil {
		add("%d correct clients failed: %v", r.load.errors, r.load.err)
	}
	if r.load.replies == 0 {
		add("no reply checked")
	}
	for _, f := range r.faults {
		if n := f.failures.Load(); n > 0 {
			add("%s: %d failures; the first: %v", f.kind, n, f.err())
		}
	}
	if r.sampleErr != nil {
		add("sampling failed: %v", r.sampleErr)
	}
	if r.fds.n > 0 && r.fds.end-r.fds.start > m.fds {
		add("%d descriptors at the end against %d at the start (margin %d)", r.fds.end, r.fds.start, m.fds)
	}
	if r.goroutines.n > 0 && r.goroutines.end-r.goroutines.start > m.goroutines {
		add("%d goroutines at the end against %d at the start (margin %d)", r.goroutines.end, r.goroutines.start, m.goroutines)
	}
	if r.stats.Active != 0 {
		add("%d connections still open after every client left", r.stats.Active)
	}
	if r.stats.Panics > 0 {
		add("%d panics in callbacks", r.stats.Panics)
	}
	if r.exitErr != nil || r.exitCode != 0 {
		add("exit status %d after SIGTERM (%v)", r.exitCode, r.exitErr)
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func triple(s series, f func(int64) string) string {
	if s.n == 0 {
		return "-"
	}
	return f(s.start) + " / " + f(s.peak) + " / " + f(s.end)
}

func itoa(v int64) string { return fmt.Sprint(v) }

// write prints an engine's run as markdown.
func (e *engineResult) write(w io.Writer) {
	fmt.Fprintf(w, "### %s\n\n", e.engine)
	fmt.Fprintf(w, "%v of load; the connections closed %v after it stopped.\n\n", e.duration.Round(time.Second), e.settled.Round(10*time.Millisecond))

	fmt.Fprintf(w, "| server | fds start / peak / end | goroutines start / peak / end | RSS MiB start / peak / end | connections peak | replies checked | correct-client errors |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	for _, r := range e.servers {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %d | %d |\n", r.name, triple(r.fds, itoa), triple(r.goroutines, itoa),
			triple(r.rss, mib), r.act.peak, r.load.replies, r.load.errors)
	}

	fmt.Fprintf(w, "\n| server | fault | clients | as expected | closed by the server | longest life closed | replies late | echo bytes checked | dial errors | failures |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|\n")
	var notes []string
	for _, r := range e.servers {
		for _, f := range r.faults {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %v | %d | %d | %d | %d |\n", r.name, f.kind, f.clients.Load(), f.expected.Load(),
				f.closed.Load(), time.Duration(f.maxLife.Load()).Round(time.Millisecond), f.timeouts.Load(), f.checked.Load(), f.dialErrs.Load(), f.failures.Load())
			if err := f.dialErr(); err != nil {
				notes = append(notes, fmt.Sprintf("%s %s: %d dials failed, the first: %v", r.name, f.kind, f.dialErrs.Load(), err))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}

	fmt.Fprintf(w, "\n| server | accepted | closed | closed by error | refused (max conns) | first-data / read / write timeouts | frame errors | accept errors | panics | exit |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range e.servers {
		s := r.stats
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d / %d / %d | %d | %d | %d | %d |\n", r.name, s.Accepted, s.Closed, s.ClosedByErr,
			s.RejectedMaxConns, s.FirstDataTimeouts, s.ReadTimeouts, s.WriteTimeouts, s.FrameErrors, s.AcceptErrors, s.Panics, r.exitCode)
	}
	if len(e.failures) == 0 {
		fmt.Fprintf(w, "\n**%s: PASS**\n\n", e.engine)
		return
	}
	fmt.Fprintf(w, "\n**%s: FAIL**\n\n", e.engine)
	for _, f := range e.failures {
		fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(f, "\n", " "))
	}
	fmt.Fprintln(w)
}
