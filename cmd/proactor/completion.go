package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/seed487d475b/proactor/internal/buildinfo"
)

// printVersion writes the binary's version on one line, as internal/buildinfo
// reads it (the metrics' build_info and ctl stats say the same).
func printVersion(w io.Writer) {
	fmt.Fprintln(w, buildinfo.Read())
}

// shells are the shells `proactor completion` writes a script for.
var shells = []string{"bash", "zsh", "fish"}

// completion is what a shell offers after each command: its flags, read
// from its own help so that they cannot drift, and its first argument's
// choices.
type completion struct {
	name, summary string
	flags         []string // with their dashes
	args          []string
}

var helpFlagRE = regexp.MustCompile(`(?m)^  (--[a-z0-9-]+)`)

func completions() []completion {
	var out []completion
	for _, c := range commands {
		var help bytes.Buffer
		c.run([]string{"-h"}, &help, io.Discard)
		cp := completion{name: c.name, summary: c.summary}
		for _, m := range helpFlagRE.FindAllStringSubmatch(help.String(), -1) {
			cp.flags = append(cp.flags, m[1])
		}
		switch c.name {
		case "serve":
			cp.args = serverNames()
		case "ctl":
			for _, a := range ctlActions {
				cp.args = append(cp.args, a.name)
			}
		case "file":
			cp.args = []string{"put", "get", "ls"}
		}
		out = append(out, cp)
	}
	return append(out, completion{name: "completion", summary: "print a shell completion script", args: shells})
}

func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintf(stdout, "Usage: proactor completion bash|zsh|fish\n\n"+
			"Prints the completion script for the shell; load it with\n"+
			"  bash: source <(proactor completion bash)\n"+
			"  zsh:  source <(proactor completion zsh)   (after compinit)\n"+
			"  fish: proactor completion fish | source\n")
		return exitOK
	}
	if len(args) != 1 || !slices.Contains(shells, args[0]) {
		errorf(stderr, "completion: want one of: %s", strings.Join(shells, ", "))
		fmt.Fprintln(stderr, "run 'proactor completion -h' for usage")
		return exitUsage
	}
	cs := completions()
	switch args[0] {
	case "bash":
		writeBash(stdout, cs)
	case "zsh":
		writeZsh(stdout, cs)
	case "fish":
		writeFish(stdout, cs)
	}
	return exitOK
}

func names(cs []completion) string {
	var ns []string
	for _, c := range cs {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, " ")
}

func writeBash(w io.Writer, cs []completion) {
	fmt.Fprintf(w, "# bash completion for proactor: source <(proactor completion bash)\n")
	fmt.Fprintf(w, "_proactor() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} words\n")
	fmt.Fprintf(w, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n\t\twords=\"%s --help --version\"\n\telse\n\t\tcase ${COMP_WORDS[1]} in\n", names(cs))
	for _, c := range cs {
		fmt.Fprintf(w, "\t\t%s) words=\"%s\" ;;\n", c.name, strings.Join(slices.Concat(c.flags, c.args), " "))
	}
	fmt.Fprintf(w, "\t\tesac\n\tfi\n\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _proactor proactor\n")
}

func writeZsh(w io.Writer, cs []completion) {
	fmt.Fprintf(w, "#compdef proactor\n# zsh completion for proactor: source <(proactor completion zsh), after compinit\n")
	fmt.Fprintf(w, "_proactor() {\n\tif (( CURRENT == 2 )); then\n\t\tcompadd -- %s --help --version\n\t\treturn\n\tfi\n\tcase $words[2] in\n", names(cs))
	for _, c := range cs {
		fmt.Fprintf(w, "\t%s) compadd -- %s ;;\n", c.name, strings.Join(slices.Concat(c.flags, c.args), " "))
	}
	fmt.Fprintf(w, "\tesac\n\t_files\n}\ncompdef _proactor proactor\n")
}

func writeFish(w io.Writer, cs []completion) {
	fmt.Fprintf(w, "# fish completion for proactor: proactor completion fish | source\n")
	fmt.Fprintf(w, "complete -c proactor -l version -d 'print the version'\n")
	for _, c := range cs {
		fmt.Fprintf(w, "complete -c proactor -f -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
		for _, f := range c.flags {
			fmt.Fprintf(w, "complete -c proactor -n '__fish_seen_subcommand_from %s' -l %s\n", c.name, strings.TrimPrefix(f, "--"))
		}
		if len(c.args) > 0 {
			fmt.Fprintf(w, "complete -c proactor -f -n '__fish_seen_subcommand_from %s' -a '%s'\n", c.name, strings.Join(c.args, " "))
		}
	}
}

func fishQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
