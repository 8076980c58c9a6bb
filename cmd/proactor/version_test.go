package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: --version prints what internal/buildinfo reads, on one line.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version"} {
		var out, errOut bytes.Buffer
		if got := run([]string{arg}, &out, &errOut); got != exitOK || errOut.Len() != 0 {
			t.Fatalf("%s: status %d, stderr %q", arg, got, &errOut)
		}
		if s := out.String(); !strings.HasPrefix(s, "proactor (devel) (") || !strings.HasSuffix(s, runtime.Version()+")\n") ||
			strings.Count(s, "\n") != 1 {
			t.Fatalf("%s: %q", arg, s)
		}
	}
}
