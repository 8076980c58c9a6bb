package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestHTTPSCurl runs `serve http --tls-self-signed` on every engine and
// asks it with curl over https (-k: the certificate is self-signed): one
// request, then two URLs in one command, the second on the same
// connection (no new connect), both over HTTP/1.1 as no ALPN offers h2.
func TestHTTPSCurl(t *testing.T) {
	curl := servertest.Tool(t, "curl")
	bin := buildBinary(t)
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			_, lines := startServe(t, bin, "serve", "http", "--engine", engine, "--listen", "127.0.0.1:0",
				"--loops", "1", "--control", "off", "--tls-self-signed")
			if first := <-lines; !strings.Contains(first, "self-signed certificate, SHA-256 fingerprint ") {
				t.Fatalf("first line %q; want the certificate's fingerprint", first)
			}
			base := "https://" + waitListening(t, t.Context(), lines)
			tests := []struct {
				name string
				args []string
				want string
			}{
				{name: "plaintext", args: []string{base + "/plaintext"}, want: "Hello, World!"},
				{name: "keep-alive", args: []string{"-w", " %{num_connects} %{http_version}\n", base + "/plaintext", base + "/json"},
					want: "Hello, World! 1 1.1\n" + `{"message":"Hello, World!"} 0 1.1` + "\n"},
			}
			for _, tt := range tests {
				ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
				var stderr bytes.Buffer
				cmd := exec.CommandContext(ctx, curl, append([]string{"-sSk", "--max-time", "10"}, tt.args...)...)
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				cancel()
				if err != nil || string(out) != tt.want {
					t.Fatalf("%s: curl %q, %v; stderr:\n%s", tt.name, out, err, &stderr)
				}
			}
			// Without -k curl refuses the self-signed certificate: the
			// server really speaks TLS with the certificate it printed.
			cmd := exec.CommandContext(t.Context(), curl, "-sS", "--max-time", "10", base+"/plaintext")
			if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "certificate") {
				t.Fatalf("curl without -k: %q, %v; want a certificate error", out, err)
			}
		})
	}
}
