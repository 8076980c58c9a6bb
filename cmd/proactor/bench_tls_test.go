package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchTLS runs `proactor bench --tls` against `serve echo
// --tls-self-signed`: streams and churn (a full handshake per connection),
// every reply checked; without --insecure the self-signed certificate
// fails verification against the system's roots.
func TestBenchTLS(t *testing.T) {
	bin := buildBinary(t)
	_, lines := startServe(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1", "--control", "off", "--tls-self-signed")
	if first := <-lines; !strings.Contains(first, "SHA-256 fingerprint") {
		t.Fatalf("first line %q; want the certificate's fingerprint", first)
	}
	addr := waitListening(t, t.Context(), lines)
	short := []string{"--duration", "200ms", "--warmup", "0s", "--progress", "0"}
	tests := []struct {
		name string
		args []string
		mode string
	}{
		{name: "Stream", args: []string{"--conns", "3", "--depth", "4", "--size", "64,20KiB"}, mode: "stream"}, // 20 KiB: a message spans records
		{name: "Churn", args: []string{"--churn", "--conns", "2"}, mode: "churn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"bench", "--json", "--tls", "--insecure"}, short...), append(tt.args, addr)...)
			out, _ := runProactor(t, bin, exitOK, args...)
			var reps []benchReport
			if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) == 0 {
				t.Fatalf("%v:\n%s", err, out)
			}
			for _, rep := range reps {
				if !rep.TLS || rep.Mode != tt.mode || rep.Ops == 0 || rep.Error != "" || rep.Failed > 0 {
					t.Fatalf("report %+v", rep)
				}
			}
		})
	}
	t.Run("Text", func(t *testing.T) {
		out, _ := runProactor(t, bin, exitOK, append(append([]string{"bench", "--tls", "--insecure", "--conns", "1"}, short...), addr)...)
		if !strings.Contains(out, "against "+addr+" over TLS") || !strings.Contains(out, "verified  every reply") {
			t.Fatalf("report:\n%s", out)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		_, errOut := runProactor(t, bin, exitError, append(append([]string{"bench", "--tls"}, short...), addr)...)
		if !strings.Contains(errOut, "certificate") {
			t.Fatalf("stderr lacks a certificate error:\n%s", errOut)
		}
	})
	t.Run("InsecureAlone", func(t *testing.T) {
		_, errOut := runProactor(t, bin, exitUsage, "bench", "--insecure", addr)
		if !strings.Contains(errOut, "--insecure goes with --tls") {
			t.Fatalf("stderr:\n%s", errOut)
		}
	})
}
