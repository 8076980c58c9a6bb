package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestHelpFlags: every command's help writes its flags as --name, with a
// capitalised placeholder, and says a default at most once.
func TestHelpFlags(t *testing.T) {
	single := regexp.MustCompile(`(?m)^  -[a-z]`)
	for _, c := range append(commands, command{name: "completion", run: runCompletion}) {
		var out bytes.Buffer
		if got := c.run([]string{"-h"}, &out, &out); got != exitOK {
			t.Errorf("%s -h: exit status %d", c.name, got)
		}
		help := out.String()
		if m := single.FindString(help); m != "" {
			t.Errorf("%s -h writes a flag with one dash (%q):\n%s", c.name, m, help)
		}
		for _, line := range strings.Split(help, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%s -h: a doubled default: %q", c.name, line)
			}
			if f, ok := strings.CutPrefix(line, "  --"); ok {
				if _, ph, ok := strings.Cut(f, " "); ok && ph != strings.ToUpper(ph) {
					t.Errorf("%s -h: placeholder %q is not in capitals", c.name, line)
				}
			}
		}
	}
	var out bytes.Buffer
	runServe([]string{"-h"}, &out, &out)
	if !strings.Contains(out.String(), "\n  --control PATH\n") {
		t.Errorf("serve -h lacks \"--control PATH\":\n%s", &out)
	}
}

// TestCompletion loads each shell's script into that shell, as a user's
// rc file would, and asks it for the completions of partial command lines.
func TestCompletion(t *testing.T) {
	bin := buildBinary(t)
	// The shells find proactor on the PATH, as they would for a user.
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	cases := []struct {
		line []string // the words typed, the last one partial
		want []string // all offered
		not  []string // none offered
	}{
		{line: []string{"proactor", "se"}, want: []string{"serve"}, not: []string{"ctl"}},
		{line: []string{"proactor", "serve", "--li"}, want: []string{"--listen"}, not: []string{"--loops"}},
		{line: []string{"proactor", "serve", "ec"}, want: []string{"echo"}},
		{line: []string{"proactor", "ctl", "pa"}, want: []string{"pause"}},
		{line: []string{"proactor", "bench", "--con"}, want: []string{"--conns", "--config"}},
		{line: []string{"proactor", "completion", "f"}, want: []string{"fish"}},
	}
	shells := map[string]func(line []string) string{
		"bash": func(line []string) string {
			return `source <(proactor completion bash) && COMP_WORDS=(` + strings.Join(line, " ") + `) && COMP_CWORD=` +
				itoa(len(line)-1) + ` && _proactor && printf '%s\n' "${COMPREPLY[@]}"`
		},
		// compadd is what zsh's completion calls with the candidates;
		// a function of that name prints those the typed prefix matches.
		"zsh": func(line []string) string {
			return `autoload -U compinit && compinit -u -D && source <(proactor completion zsh) && ` +
				`compadd() { shift; for w in "$@"; do [[ $w == ` + line[len(line)-1] + `* ]] && print -r -- $w; done; return 0; } && ` +
				`_files() { :; } && words=(` + strings.Join(line, " ") + `) && CURRENT=` + itoa(len(line)) + ` && _proactor`
		},
		"fish": func(line []string) string {
			return `proactor completion fish | source; complete -C '` + strings.Join(line, " ") + `'`
		},
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			sh := servertest.Tool(t, shell)
			for _, tt := range cases {
				ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
				cmd := exec.CommandContext(ctx, sh, "-c", shells[shell](tt.line))
				cmd.Env = append(os.Environ(), "PATH="+path)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				cancel()
				if err != nil {
					t.Fatalf("%s: %v\n%s", tt.line, err, &stderr)
				}
				offered := map[string]bool{}
				for _, l := range strings.Split(string(out), "\n") {
					word, _, _ := strings.Cut(l, "\t") // fish adds a description
					offered[word] = true
				}
				for _, w := range tt.want {
					if !offered[w] {
						t.Errorf("%q: %q not offered; got:\n%s", strings.Join(tt.line, " "), w, out)
					}
				}
				for _, w := range tt.not {
					if offered[w] {
						t.Errorf("%q: %q offered; got:\n%s", strings.Join(tt.line, " "), w, out)
					}
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
