package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/seed487d475b/proactor/control"
)

// ctlActions are the verbs of `proactor ctl`, in the order usage lists them.
var ctlActions = []struct{ name, summary string }{
	{"stats", "print the server's status and counters"},
	{"pause", "stop accepting; open connections go on"},
	{"resume", "accept again"},
	{"shutdown", "start a graceful shutdown"},
}

func runCtl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor ctl", flag.ContinueOnError)
	socket := fs.String("control", "", "the server's control socket `PATH` (default: the one proactor serve NAME makes for --server)")
	name := fs.String("server", "echo", "the `NAME` the server was started with, to find its default socket")
	asJSON := fs.Bool("json", false, "stats: print the status as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	action, err := parseCtlArgs(fs, args)
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
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var st control.Status
	switch action {
	case "stats":
		st, err = cl.Status(ctx)
	case "pause":
		st, err = cl.Pause(ctx)
	case "resume":
		st, err = cl.Resume(ctx)
	case "shutdown":
		err = cl.Shutdown(ctx)
	}
	if err != nil {
		errorf(stderr, "ctl %s: %v", action, err)
		return exitError
	}
	switch {
	case action == "shutdown":
		fmt.Fprintln(stdout, "proactor: shutting down")
	case action == "stats" && *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	case action == "stats":
		printStatus(stdout, st)
	default:
		fmt.Fprintf(stdout, "proactor: %s: accepting %s\n", serverName(st), map[bool]string{true: "paused", false: "on"}[st.Paused])
	}
	return exitOK
}

func parseCtlArgs(fs *flag.FlagSet, args []string) (string, error) {
	// Flags may come on either side of the action, as with serve.
	action, err := parseNamed(fs, args, "action")
	if err != nil {
		return "", err
	}
	for _, a := range ctlActions {
		if a.name == action {
			return action, nil
		}
	}
	return "", fmt.Errorf("unknown action %q", action)
}

func serverName(st control.Status) string {
	if st.Server == "" {
		return "server"
	}
	return st.Server
}

func printStatus(w io.Writer, st control.Status) {
	s := st.Stats
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "server\t%s\n", serverName(st))
	fmt.Fprintf(tw, "engine\t%s, %s\n", st.Engine, plural(st.Loops, "loop"))
	fmt.Fprintf(tw, "listeners\t%v\n", st.Listeners)
	fmt.Fprintf(tw, "accepting\t%s\n", map[bool]string{true: "paused", false: "on"}[st.Paused])
	fmt.Fprintf(tw, "connections\t%d active, %d accepted, %d closed (%d with an error)\n", s.Active, s.Accepted, s.Closed, s.ClosedByErr)
	fmt.Fprintf(tw, "rejected\t%d (filter %d, denied %d, max-conns %d, per-ip %d); accept errors %d\n",
		s.Rejected, s.RejectedFilter, s.RejectedDenied, s.RejectedMaxConns, s.RejectedPerIP, s.AcceptErrors)
	fmt.Fprintf(tw, "timeouts\tfirst-data %d, idle %d, read %d, write %d, connect %d\n",
		s.FirstDataTimeouts, s.IdleTimeouts, s.ReadTimeouts, s.WriteTimeouts, s.ConnectTimeouts)
	fmt.Fprintf(tw, "read\t%d bytes in %d reads\n", s.BytesRead, s.Reads)
	fmt.Fprintf(tw, "written\t%d bytes in %d writes; %d queued\n", s.BytesWritten, s.Writes, s.QueuedBytes)
	fmt.Fprintf(tw, "trouble\t%d frame errors, %d panics, %d read pauses, %d write overflows\n", s.FrameErrors, s.Panics, s.ReadPauses, s.Overflows)
	if f := s.TLSFailures; s.TLSHandshakes+f.NotTLS+f.Certificate+f.Alert+f.EOF+f.Timeout+f.Busy+f.Other > 0 {
		fmt.Fprintf(tw, "tls\t%d handshakes; failed: %d not TLS, %d certificate, %d alert, %d eof, %d timeout, %d busy, %d other; %d bad records\n",
			s.TLSHandshakes, f.NotTLS, f.Certificate, f.Alert, f.EOF, f.Timeout, f.Busy, f.Other, s.TLSRecordErrors)
	}
	b := st.Buffers
	fmt.Fprintf(tw, "buffers\t%d asked of the engine's pool, %d reused, %d allocated; %d bytes kept free\n", b.Gets, b.Hits, b.Allocs, b.Retained)
	tw.Flush()
}

func ctlUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: proactor ctl ACTION [flags]\n\nActions:\n")
	for _, a := range ctlActions {
		fmt.Fprintf(w, "  %-9s %s\n", a.name, a.summary)
	}
	fmt.Fprintf(w, "\nFlags:\n")
	printFlags(w, fs)
}
