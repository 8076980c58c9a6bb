// Command proactor runs the servers built on the proactor framework.
//
// Usage:
//
//	proactor serve NAME [flags]
//	proactor ctl stats|conns|close ID|abort ID|pause|resume|shutdown [flags]
//	proactor bench [flags] [ADDR]
//	proactor dial [flags] ADDR
//	proactor file put|get|ls ADDR ...
//	proactor pop3-user --users FILE NAME < password
//	proactor completion bash|zsh|fish
//	proactor --version
//
// Run "proactor serve -h" for the servers and flags, "proactor --version"
// for what the binary was built from. Exit status is 0 on
// success, 1 when the server fails, and 2 for a bad command line.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses; 2 for a bad command line matches what the flag package
// uses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand. run receives the arguments after the
// subcommand's name and returns the exit status.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is the dispatch table, in the order usage lists them.
var commands = []command{
	{name: "serve", summary: "run a server until SIGINT or SIGTERM", run: runServe},
	{name: "ctl", summary: "pause, resume, stop or read the counters of a running server", run: runCtl},
	{name: "bench", summary: "run a load against a server, checking every reply", run: runBench},
	{name: "dial", summary: "talk to a TCP server: stdin to it, its replies to stdout", run: runDial},
	{name: "file", summary: "put, get or list files on a files server", run: runFile},
	{name: "pop3-user", summary: "add a user of serve pop3, or change a password (read from stdin)", run: runPop3User},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit status; taking the
// writers as arguments keeps os.Exit in main alone.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		printVersion(stdout)
		return exitOK
	case "completion":
		// Not in the table: its scripts are made from the table.
		return runCompletion(args[1:], stdout, stderr)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	errorf(stderr, "unknown command %q", args[0])
	fmt.Fprintln(stderr, "run 'proactor -h' for the commands")
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: proactor COMMAND [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "completion", "print a shell completion script: bash, zsh or fish")
	fmt.Fprintf(w, "\nRun \"proactor COMMAND -h\" for a command's flags, \"proactor --version\" for the version.\n")
}

// errorf prints a message to w as "proactor: ...". The library's own errors
// already start with that prefix, so it is dropped from the message rather
// than printed twice.
func errorf(w io.Writer, format string, args ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), "proactor: ")
	fmt.Fprintf(w, "proactor: %s\n", msg)
}
