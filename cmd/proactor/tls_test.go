package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestTLSInterop drives `serve echo --tls-self-signed` on every engine with
// clients no one here wrote or that take another path: openssl s_client
// (an echo, then a TLS 1.2 renegotiation attempt, which the server refuses
// by closing that connection and nothing else), and `proactor dial --tls`.
func TestTLSInterop(t *testing.T) {
	openssl := servertest.Tool(t, "openssl")
	bin := buildBinary(t)
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "echo", "--engine", engine,
				"--listen", "127.0.0.1:0", "--control", "off", "--tls-self-signed")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			lines := readLines(ctx, stdout)
			first := <-lines
			if !strings.Contains(first, "self-signed certificate, SHA-256 fingerprint ") {
				t.Fatalf("first line %q; want the certificate's fingerprint", first)
			}
			addr := waitListening(t, ctx, lines)

			sClient(t, ctx, openssl, addr, "hello from openssl\n", "hello from openssl", "-quiet")
			// R asks s_client to renegotiate (TLS 1.2 only); the server
			// refuses, and the connection ends.
			sClient(t, ctx, openssl, addr, "before\nR\n", "before", "-tls1_2", "-quiet")
			sClient(t, ctx, openssl, addr, "after\n", "after", "-quiet") // the server goes on

			dial := exec.CommandContext(ctx, bin, "dial", "--tls", "--insecure", addr)
			dial.Stdin = strings.NewReader("hello from dial\n")
			out, err := dial.Output()
			if err != nil || string(out) != "hello from dial\n" {
				t.Fatalf("proactor dial --tls: %q, %v", out, err)
			}
			dial = exec.CommandContext(ctx, bin, "dial", "--tls", addr) // verifies: a self-signed certificate fails
			if out, err := dial.CombinedOutput(); err == nil || !strings.Contains(string(out), "certificate") {
				t.Fatalf("proactor dial --tls without --insecure: %q, %v; want a certificate error", out, err)
			}
		})
	}
}

// sClient runs openssl s_client against addr, sends input and waits for a
// line with want in it; with the renegotiation request it then waits for
// s_client to end, as the server closes the connection.
func sClient(t *testing.T, ctx context.Context, openssl, addr, input, want string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", addr}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	io.WriteString(in, input)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			if strings.Contains(input, "\nR\n") {
				io.Copy(io.Discard, out) // the server ends the connection
				if err := cmd.Wait(); err == nil && ctx.Err() != nil {
					t.Fatalf("s_client outlived the renegotiation attempt")
				}
			}
			return
		}
	}
	t.Fatalf("openssl s_client %v never printed %q; stderr:\n%s", args, want, &stderr)
}
