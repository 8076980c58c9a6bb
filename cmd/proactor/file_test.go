package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

// TestFileCommands runs `proactor serve files` and the `proactor file`
// commands as separate processes, as a user would: a 64 MiB random file
// goes up and comes back identical with each client engine, and the
// refusals reach the user as clear errors with no file left behind.
func TestFileCommands(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	addr := startFilesServer(t, bin, root)
	work := t.TempDir()
	src := filepath.Join(work, "random.bin")
	data := make([]byte, 64<<20)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	data = nil

	var stored []string
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			name := "random-" + engine + ".bin"
			_, stderr := runProactor(t, bin, exitOK, "file", "--engine", engine, "put", addr, src, name)
			if !strings.Contains(stderr, "put "+name+": 64 MiB in") || !strings.Contains(stderr, "stored") {
				t.Errorf("put showed no final progress line:\n%s", stderr)
			}
			stored = append(stored, name)
			if got := fileSum(t, filepath.Join(root, name)); got != want {
				t.Fatalf("the stored file hashes to %x, want %x", got, want)
			}
			// Flags may follow the subcommand; a directory as LOCALPATH
			// takes the name.
			dst := t.TempDir()
			runProactor(t, bin, exitOK, "file", "get", "--engine", engine, addr, name, dst)
			if got := fileSum(t, filepath.Join(dst, name)); got != want {
				t.Fatalf("the downloaded file hashes to %x, want %x", got, want)
			}
		})
	}

	slices.Sort(stored)
	stdout, _ := runProactor(t, bin, exitOK, "file", "ls", addr)
	for _, name := range stored {
		if !strings.Contains(stdout, fmt.Sprintf("%14d  %s\n", 64<<20, name)) {
			t.Errorf("ls lacks %s:\n%s", name, stdout)
		}
	}
	if got := dirEntries(t, root); !slices.Equal(got, stored) {
		t.Errorf("the root holds %q, want %q: no temporary file", got, stored)
	}

	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr string
	}{
		{name: "PutParent", args: []string{"file", "put", addr, src, "../x"}, wantStatus: exitError,
			wantStderr: `proactor: file put: server: bad name "../x": a path`},
		{name: "PutAbsolute", args: []string{"file", "put", addr, src, "/etc/passwd"}, wantStatus: exitError,
			wantStderr: `bad name "/etc/passwd"`},
		{name: "PutMissingLocal", args: []string{"file", "put", addr, filepath.Join(work, "nosuch"), "x"}, wantStatus: exitError,
			wantStderr: "no such file or directory"},
		{name: "GetMissing", args: []string{"file", "get", addr, "nope", filepath.Join(work, "nope")}, wantStatus: exitError,
			wantStderr: `proactor: file get: server: "nope": no such file`},
		{name: "GetDotDot", args: []string{"file", "get", addr, "..", work}, wantStatus: exitError,
			wantStderr: `bad name ".."`},
		{name: "Refused", args: []string{"file", "ls", "127.0.0.1:1"}, wantStatus: exitError, wantStderr: "connection refused"},
		{name: "NoSubcommand", args: []string{"file"}, wantStatus: exitUsage, wantStderr: "missing subcommand"},
		{name: "UnknownSubcommand", args: []string{"file", "rm", addr}, wantStatus: exitUsage, wantStderr: `unknown subcommand "rm"`},
		{name: "TooFewArgs", args: []string{"file", "put", addr, src}, wantStatus: exitUsage, wantStderr: "put takes 3 arguments, got 2"},
		{name: "Help", args: []string{"file", "-h"}, wantStatus: exitOK},
		{name: "ServeFilesNoRoot", args: []string{"serve", "files"}, wantStatus: exitUsage, wantStderr: "files needs --root DIR"},
		{name: "ServeEchoRoot", args: []string{"serve", "echo", "--root", root}, wantStatus: exitUsage, wantStderr: "--root is for the files server"},
		{name: "ServeMissingRoot", args: []string{"serve", "files", "--root", filepath.Join(work, "nosuch"), "--listen", "127.0.0.1:0"},
			wantStatus: exitError, wantStderr: "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr := runProactor(t, bin, tt.wantStatus, tt.args...)
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
	// The failed commands left nothing: no download, no temporary file.
	if got := dirEntries(t, work); !slices.Equal(got, []string{"random.bin"}) {
		t.Errorf("the client's directory holds %q, want only random.bin", got)
	}
	if got := dirEntries(t, root); !slices.Equal(got, stored) {
		t.Errorf("the root holds %q, want %q", got, stored)
	}
}

// TestServeFilesLimits runs `proactor serve files` with the flags that
// limit uploads: a client's PUT over --max-upload, or to a --read-only
// server, fails with the server's reason, and leaves nothing in the root;
// reads still work.
func TestServeFilesLimits(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	src := filepath.Join(work, "two.bin")
	if err := os.WriteFile(src, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		flags      []string
		wantStderr string
	}{
		{name: "MaxUpload", flags: []string{"--max-upload", "1MiB", "--min-free", "0"},
			wantStderr: "proactor: file put: server: 2097152 bytes is over the limit of 1048576"},
		{name: "ReadOnly", flags: []string{"--read-only"},
			wantStderr: "proactor: file put: server: read-only server: uploads are refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "kept"), []byte("kept"), 0o644); err != nil {
				t.Fatal(err)
			}
			addr := startFilesServer(t, bin, root, tt.flags...)
			_, stderr := runProactor(t, bin, exitError, "file", "put", addr, src, "two.bin")
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			stdout, _ := runProactor(t, bin, exitOK, "file", "ls", addr)
			if want := fmt.Sprintf("%14d  kept\n", 4); stdout != want {
				t.Errorf("ls = %q, want %q", stdout, want)
			}
			if got := dirEntries(t, root); !slices.Equal(got, []string{"kept"}) {
				t.Errorf("the root holds %q, want only kept", got)
			}
		})
	}

	root := t.TempDir()
	usage := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "EchoReadOnly", args: []string{"serve", "echo", "--read-only"}, wantStderr: "--read-only is for the files server, not echo"},
		{name: "LineMaxUpload", args: []string{"serve", "line", "--max-upload", "1MiB"}, wantStderr: "--max-upload is for the files server, not line"},
		{name: "EchoMinFree", args: []string{"serve", "echo", "--min-free", "0"}, wantStderr: "--min-free is for the files server, not echo"},
		{name: "MaxUploadZero", args: []string{"serve", "files", "--root", root, "--max-upload", "0"}, wantStderr: "invalid --max-upload 0: must be positive"},
		{name: "MaxUploadNotASize", args: []string{"serve", "files", "--root", root, "--max-upload", "lots"}, wantStderr: `not a size: "lots"`},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr := runProactor(t, bin, exitUsage, tt.args...)
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

// startFilesServer runs `proactor serve files` on a free port, with flags
// added, and returns its address; the cleanup stops it with SIGINT and
// checks its exit.
func startFilesServer(t *testing.T, bin, root string, flags ...string) string {
	t.Helper()
	// A safety net, not a deadline: the server lives as long as its test,
	// which moves 64 MiB three times and took ~59 s under -race on a busy
	// machine (2*testTimeout killed it mid-test).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	var stderr bytes.Buffer
	args := append([]string{"serve", "files", "--root", root, "--listen", "127.0.0.1:0", "--loops", "1"}, flags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(ctx, stdout)
	t.Cleanup(func() {
		defer cancel()
		cmd.Process.Signal(os.Interrupt)
		for range lines { // Wait may run only once stdout is drained
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve files: %v; stderr:\n%s", err, &stderr)
		}
	})
	return waitListening(t, ctx, lines)
}

// runProactor runs the binary, checks its exit status and returns its
// output.
func runProactor(t *testing.T, bin string, wantStatus int, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if got := exitStatus(t, cmd.Run()); got != wantStatus {
		t.Fatalf("proactor %s: exit status %d, want %d; stderr:\n%s", strings.Join(args, " "), got, wantStatus, &errOut)
	}
	return out.String(), errOut.String()
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// dirEntries returns the names in dir, hidden ones included, sorted.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
