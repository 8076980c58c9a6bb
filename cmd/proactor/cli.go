package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// printFlags writes fs's flags as --name PLACEHOLDER and the usage, the
// default added only where the usage does not already say it. It replaces
// flag.PrintDefaults, which writes -name and, for a usage that names its
// default, writes it twice.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", placeholder(name))
		}
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !strings.Contains(usage, "default") && !isZero(f) {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// placeholder turns the flag package's generic value names into the
// capitals the help uses for every value (a usage's `NAME` is already so).
func placeholder(name string) string {
	switch name {
	case "duration":
		return "DURATION"
	case "int", "uint", "int64", "uint64":
		return "N"
	case "float":
		return "X"
	case "string":
		return "STRING"
	}
	return strings.ToUpper(name) // a usage's `engine`, say
}

// isZero says whether f's default is its type's zero value, not worth
// printing.
func isZero(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "0s", "false", "[]":
		return true
	}
	return false
}

// usageError reports a bad command line: the one error, and where the
// help is, instead of the whole usage burying it. It returns exitUsage.
func usageError(w io.Writer, cmd string, fs *flag.FlagSet, err error) int {
	errorf(w, "%s: %v", cmd, explainFlagError(fs, err))
	fmt.Fprintf(w, "run 'proactor %s -h' for usage\n", cmd)
	return exitUsage
}

var (
	undefinedRE = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	needsArgRE  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	invalidRE   = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -+([^:]*): (.*)$`)
)

// explainFlagError rewrites the flag package's errors in the help's terms
// (--name, not -name), and says what a duration without a unit lacks.
func explainFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if m := undefinedRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("unknown flag --%s", m[1])
	}
	if m := needsArgRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("--%s needs a value", m[1])
	}
	m := invalidRE.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	value, name, why := m[1], m[2], m[3]
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case time.Duration:
				if _, numErr := strconv.ParseFloat(value, 64); numErr == nil {
					return fmt.Errorf("--%s %s: missing unit, e.g. %ss", name, value, value)
				}
				why = "not a duration (e.g. 30s, 500ms, 1m30s)"
			case int, int64, uint, uint64:
				why = "not a whole number"
			}
		}
	}
	if why == "parse error" {
		why = "not a valid value"
	}
	return fmt.Errorf("--%s %s: %s", name, value, why)
}
