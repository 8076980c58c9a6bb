package main

import (
	"path/filepath"
	"regexp"
	"testing"
)

// TestCtlStatsWorkers: `ctl stats` of a files server shows the jobs its
// disk workers ran, in text and in JSON.
func TestCtlStatsWorkers(t *testing.T) {
	bin := buildBinary(t)
	sock := filepath.Join(t.TempDir(), "c.sock")
	addr := startFilesServer(t, bin, t.TempDir(), "--control", sock)
	runProactor(t, bin, exitOK, "file", "ls", addr) // one job at least
	out, _ := runProactor(t, bin, exitOK, "ctl", "--control", sock, "stats")
	if !regexp.MustCompile(`workers +\d+ jobs queued, \d+ running, \d+ completed, 0 rejected`).MatchString(out) {
		t.Fatalf("stats shows no workers line:\n%s", out)
	}
	out, _ = runProactor(t, bin, exitOK, "ctl", "--control", sock, "stats", "--json")
	if !regexp.MustCompile(`"workers": \{\s+"submitted": [1-9]`).MatchString(out) {
		t.Fatalf("stats --json shows no workers:\n%s", out)
	}
}
