package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor/pop3"
)

// TestPop3 adds a user with pop3-user and serves her Maildir with the
// binary: a pipelined login, STAT and RETR, ended by LF as nc sends them.
func TestPop3(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bob", "new"), 0o700); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: hi\n\n.dot\n"
	if err := os.WriteFile(filepath.Join(dir, "bob", "new", "1.x"), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, ".users")
	var out, errOut bytes.Buffer
	if status := pop3User([]string{"--users", users, "bob"}, strings.NewReader("pa55 word\n"), &out, &errOut); status != exitOK {
		t.Fatalf("pop3-user: status %d, %s", status, errOut.String())
	}
	if fi, err := os.Stat(users); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v, %v; want mode 0600", fi, err)
	}
	bin := buildBinary(t)
	want := pop3.Greeting + "+OK send PASS\r\n+OK maildrop has 1 messages (21 octets)\r\n+OK 1 21\r\n" +
		"+OK 21 octets\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n"
	testServe(t, bin, 1, exchange{send: "USER bob\nPASS pa55 word\nSTAT\r\nRETR 1\n", want: want},
		"serve", "pop3", "--maildrop", dir, "--listen", "127.0.0.1:0", "--loops", "1")
}

func TestPop3UserErrors(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantStatus int
		wantStderr string
	}{
		{name: "NoUsersFile", args: []string{"bob"}, stdin: "x\n", wantStatus: exitUsage, wantStderr: "missing --users FILE"},
		{name: "NoName", args: []string{"--users", users}, stdin: "x\n", wantStatus: exitUsage, wantStderr: "missing user name"},
		{name: "BadName", args: []string{"--users", users, "../etc"}, stdin: "x\n", wantStatus: exitUsage, wantStderr: "bad user name"},
		{name: "NoPassword", args: []string{"--users", users, "bob"}, stdin: "", wantStatus: exitError, wantStderr: "reading the password"},
		{name: "EmptyPassword", args: []string{"--users", users, "bob"}, stdin: "\n", wantStatus: exitError, wantStderr: "empty password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := pop3User(tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if status != tt.wantStatus || !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Fatalf("status %d, stderr %q; want %d and %q", status, errOut.String(), tt.wantStatus, tt.wantStderr)
			}
		})
	}
	// serve refuses the pop3 flags for another server, and pop3 without
	// its directory.
	for args, want := range map[string]string{
		"serve echo --maildrop /tmp": "--maildrop is for the pop3 server, not echo",
		"serve pop3":                 "pop3 needs --maildrop DIR",
	} {
		var out, errOut bytes.Buffer
		if status := run(strings.Fields(args), &out, &errOut); status != exitUsage || !strings.Contains(errOut.String(), want) {
			t.Errorf("%s: status %d, stderr %q; want %d and %q", args, status, errOut.String(), exitUsage, want)
		}
	}
}
