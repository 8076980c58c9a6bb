package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/control"
	"github.com/seed487d475b/proactor/internal/buildinfo"
)

// ctlActions are the verbs of `proactor ctl`, in the order usage lists them.
var ctlActions = []struct{ name, summary string }{
	{"stats", "print the server's status and counters"},
	{"conns", "list the open connections"},
	{"close", "close connection ID gracefully: its queue drains, then a FIN"},
	{"abort", "reset connection ID: its queue is dropped"},
	{"pause", "stop accepting; open connections go on"},
	{"resume", "accept again"},
	{"shutdown", "start a graceful shutdown"},
	{"upgrade", "start the new binary on the same sockets; once it is ready, this one stops accepting, drains and exits"},
}

func runCtl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor ctl", flag.ContinueOnError)
	socket := fs.String("control", "", "the server's control socket `PATH` (default: the one proactor serve NAME makes for --server)")
	name := fs.String("server", "echo", "the `NAME` the server was started with, to find its default socket")
	asJSON := fs.Bool("json", false, "stats, conns: print JSON, numbers unformatted")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long (upgrade: after this long past --ready-timeout)")
	binary := fs.String("binary", "", "upgrade: the new `PATH` to run (default: the server's own, which may have been replaced on disk)")
	ready := fs.Duration("ready-timeout", defaultReadyTimeout, "upgrade: how long the new process may take to be ready; past it, it is killed and the old one serves on")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	action, id, err := parseCtlArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		ctlUsage(stdout, fs)
		return exitOK
	}
	if err != nil {
		return usageError(stderr, "ctl", fs, err)
	}
	path := *socket
	if path == "" {
		if path, err = control.DefaultPath(*name); err != nil {
			errorf(stderr, "ctl: %v", err)
			return exitError
		}
	}
	cl := control.NewClient(path)
	defer cl.Close()
	wait := *timeout
	if action == "upgrade" {
		wait += *ready
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	var st control.Status
	var up control.UpgradeResult
	var conns []proactor.ConnInfo
	switch action {
	case "stats":
		st, err = cl.Status(ctx)
	case "conns":
		conns, err = cl.Conns(ctx)
	case "close":
		err = cl.CloseConn(ctx, id)
	case "abort":
		err = cl.AbortConn(ctx, id)
	case "pause":
		st, err = cl.Pause(ctx)
	case "resume":
		st, err = cl.Resume(ctx)
	case "shutdown":
		err = cl.Shutdown(ctx)
	case "upgrade":
		up, err = cl.Upgrade(ctx, control.UpgradeRequest{Binary: *binary, ReadyTimeout: *ready})
	}
	switch {
	case errors.Is(err, control.ErrNoConn):
		errorf(stderr, "ctl %s: no open connection %d (ctl conns lists them)", action, id)
		return exitError
	case errors.Is(err, control.ErrClosing):
		errorf(stderr, "ctl %s: connection %d is closing already", action, id)
		return exitError
	case err != nil:
		errorf(stderr, "ctl %s: %v", action, err)
		return exitError
	}
	switch {
	case action == "close":
		fmt.Fprintf(stdout, "proactor: connection %d closing\n", id)
	case action == "abort":
		fmt.Fprintf(stdout, "proactor: connection %d reset\n", id)
	case action == "conns" && *asJSON:
		printJSON(stdout, conns)
	case action == "conns":
		printConns(stdout, conns)
	case action == "shutdown":
		fmt.Fprintln(stdout, "proactor: shutting down")
	case action == "upgrade":
		fmt.Fprintf(stdout, "proactor: upgraded: pid %d (%s) accepts now; pid %d drains and exits\n", up.PID, up.Binary, up.OldPID)
	case action == "stats" && *asJSON:
		printJSON(stdout, st)
	case action == "stats":
		printStatus(stdout, st)
	default:
		fmt.Fprintf(stdout, "proactor: %s: accepting %s\n", serverName(st), map[bool]string{true: "paused", false: "on"}[st.Paused])
	}
	return exitOK
}

// parseCtlArgs returns the action and, for close and abort, the
// connection's ID. Flags may come anywhere, as with serve.
func parseCtlArgs(fs *flag.FlagSet, args []string) (string, uint64, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", 0, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) == 0 {
		return "", 0, errors.New("missing action")
	}
	action, known := pos[0], false
	for _, a := range ctlActions {
		known = known || a.name == action
	}
	if !known {
		return "", 0, fmt.Errorf("unknown action %q", action)
	}
	want := 1
	if action == "close" || action == "abort" {
		want = 2
		if len(pos) < 2 {
			return "", 0, fmt.Errorf("%s: missing the connection's ID (ctl conns lists them)", action)
		}
	}
	if len(pos) > want {
		return "", 0, fmt.Errorf("unexpected argument %q", pos[want])
	}
	if want == 1 {
		return action, 0, nil
	}
	id, err := strconv.ParseUint(pos[1], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: bad connection ID %q: want a number, as ctl conns lists them", action, pos[1])
	}
	return action, id, nil
}

func serverName(st control.Status) string {
	if st.Server == "" {
		return "server"
	}
	return st.Server
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func printStatus(w io.Writer, st control.Status) {
	s := st.Stats
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "server\t%s\n", serverName(st))
	fmt.Fprintf(tw, "version\t%s\n", buildinfo.Info{Version: st.Version, Revision: st.Revision, GoVersion: st.GoVersion})
	fmt.Fprintf(tw, "started\t%s (up %s)\n", st.Started.Format(time.DateTime+" MST"), roundDuration(st.Uptime))
	fmt.Fprintf(tw, "engine\t%s, %s\n", st.Engine, plural(st.Loops, "loop"))
	fmt.Fprintf(tw, "listeners\t%v\n", st.Listeners)
	fmt.Fprintf(tw, "accepting\t%s\n", map[bool]string{true: "paused", false: "on"}[st.Paused])
	fmt.Fprintf(tw, "connections\t%d active, %d accepted, %d closed (%d with an error)\n", s.Active, s.Accepted, s.Closed, s.ClosedByErr)
	fmt.Fprintf(tw, "rejected\t%d (filter %d, denied %d, max-conns %d, per-ip %d); accept errors %d\n",
		s.Rejected, s.RejectedFilter, s.RejectedDenied, s.RejectedMaxConns, s.RejectedPerIP, s.AcceptErrors)
	fmt.Fprintf(tw, "timeouts\tfirst-data %d, idle %d, read %d, write %d, connect %d\n",
		s.FirstDataTimeouts, s.IdleTimeouts, s.ReadTimeouts, s.WriteTimeouts, s.ConnectTimeouts)
	fmt.Fprintf(tw, "read\t%s in %d reads\n", size(s.BytesRead), s.Reads)
	fmt.Fprintf(tw, "written\t%s in %d writes; %s queued\n", size(s.BytesWritten), s.Writes, size(s.QueuedBytes))
	fmt.Fprintf(tw, "trouble\t%d frame errors, %d panics, %d read pauses, %d write overflows\n", s.FrameErrors, s.Panics, s.ReadPauses, s.Overflows)
	if f := s.TLSFailures; s.TLSHandshakes+f.NotTLS+f.Certificate+f.Alert+f.EOF+f.Timeout+f.Busy+f.Other > 0 {
		fmt.Fprintf(tw, "tls\t%d handshakes; failed: %d not TLS, %d certificate, %d alert, %d eof, %d timeout, %d busy, %d other; %d bad records\n",
			s.TLSHandshakes, f.NotTLS, f.Certificate, f.Alert, f.EOF, f.Timeout, f.Busy, f.Other, s.TLSRecordErrors)
	}
	if w := s.Workers; w.Submitted+w.Rejected > 0 {
		fmt.Fprintf(tw, "workers\t%d jobs queued, %d running, %d completed, %d rejected (%d panicked); %d workers\n",
			w.Queued, w.Running, w.Completed, w.Rejected, w.Panics, w.Workers)
	}
	if s.ProxyHeaders+s.ProxyHeaderErrors+s.ProxyHeaderTimeouts > 0 {
		fmt.Fprintf(tw, "proxy\t%d PROXY headers; %d malformed or missing, %d timed out\n",
			s.ProxyHeaders, s.ProxyHeaderErrors, s.ProxyHeaderTimeouts)
	}
	b := st.Buffers
	fmt.Fprintf(tw, "buffers\t%d asked of the engine's pool, %d reused, %d allocated; %s kept free\n", b.Gets, b.Hits, b.Allocs, size(b.Retained))
	h := st.Histograms
	fmt.Fprintf(tw, "loop lag\t%s\n", quantiles(h.LoopLag, "OnData calls timed (1 in 64)"))
	fmt.Fprintf(tw, "OnData\t%s\n", quantiles(h.Callback, "OnData calls timed (1 in 64)"))
	fmt.Fprintf(tw, "lifetime\t%s\n", quantiles(h.ConnLifetime, "connections closed"))
	tw.Flush()
}

// printConns prints the listing as an aligned table.
func printConns(w io.Writer, cs []proactor.ConnInfo) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "proactor: no open connections")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPEER\tLOCAL\tAGE\tSTATE\tINPUT\tOUTPUT\tREAD\tWRITTEN\tQUEUED\tLOOP")
	for _, c := range cs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.ID, addrOrUnix(c.Peer), addrOrUnix(c.Local), roundDuration(c.Age),
			c.State, c.Input, c.Output, size(c.BytesRead), size(c.BytesWritten), size(c.Queued), c.Loop)
	}
	tw.Flush()
}

// size formats a byte count for people: 512 B, 1.2 MiB.
func size[T int | int64 | uint64](n T) string {
	if n < 0 {
		return "-" + humanize.IBytes(uint64(-n))
	}
	return humanize.IBytes(uint64(n))
}

// roundDuration keeps a duration's meaningful digits: 1h2m3s, 1.5s, 250ms.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// quantiles describes a histogram by its median and 99th percentile, each
// as the bucket bound it lies under.
func quantiles(h proactor.Histogram, what string) string {
	if h.Count == 0 {
		return "no " + what + " yet"
	}
	q := func(p float64) string {
		if d, ok := h.Quantile(p); ok {
			return "≤ " + d.String()
		}
		return "> " + h.Bounds[len(h.Bounds)-1].String()
	}
	return fmt.Sprintf("p50 %s, p99 %s, mean %s; %d %s", q(0.5), q(0.99), roundDuration(h.Sum/time.Duration(h.Count)), h.Count, what)
}

func ctlUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: proactor ctl ACTION [ID] [flags]\n\nActions:\n")
	for _, a := range ctlActions {
		fmt.Fprintf(w, "  %-9s %s\n", a.name, a.summary)
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
}

// addrOrUnix shows a connection's address, or "unix" for a unix socket
// connection, which has none in the listing.
func addrOrUnix(a netip.AddrPort) string {
	if !a.IsValid() {
		return "unix"
	}
	return a.String()
}
