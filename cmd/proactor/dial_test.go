package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/echo"
)

// TestDialCommand pipes text through `proactor dial` to an echo server: the
// end of stdin half-closes, the server answers and closes, and the command
// exits 0 with the echo on stdout.
func TestDialCommand(t *testing.T) {
	bin := buildBinary(t)
	srv, err := proactor.NewServer(echo.Handler{}, proactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			input := strings.Repeat("line of text\n", 5000)
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, "dial", "--engine", engine, addr.String())
			cmd.Stdin = strings.NewReader(input)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("dial: %v; stderr:\n%s", err, &stderr)
			}
			if stdout.String() != input {
				t.Fatalf("echo through dial: got %d bytes, want %d", stdout.Len(), len(input))
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "dial", "127.0.0.1:1")
	cmd.Stderr = &stderr
	if err := cmd.Run(); exitStatus(t, err) != exitError || !strings.Contains(stderr.String(), "connection refused") {
		t.Fatalf("dial to a closed port: %v; stderr:\n%s", err, &stderr)
	}
}
