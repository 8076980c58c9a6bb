package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// TestServeMetrics: --metrics serves the server's counters, the Go
// runtime's and the process's in Prometheus' text format, and the status
// page (metrics/status has the test in a browser).
func TestServeMetrics(t *testing.T) {
	bin := buildBinary(t)
	cmd, lines := startServe(t, bin, "serve", "echo", "--listen", "127.0.0.1:0", "--loops", "1",
		"--control", "off", "--metrics", "127.0.0.1:0")
	addr := waitListening(t, t.Context(), lines)
	line := <-lines
	url, ok := strings.CutPrefix(line, "proactor: metrics on ")
	if !ok {
		t.Fatalf("line %q, want the metrics address", line)
	}
	c := servertest.Echo(t, addr, "hello")

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	for _, want := range []string{
		`proactor_connections_accepted_total{server="echo"} 1`,
		`proactor_read_bytes_total{server="echo"} 5`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The status page beside it: the page, and its readings of this server.
	line = <-lines
	page, ok := strings.CutPrefix(line, "proactor: status page on ")
	if !ok {
		t.Fatalf("line %q, want the status page's address", line)
	}
	for path, want := range map[string]string{"": "<title>proactor status</title>", "stats.json": `"name":"echo"`} {
		resp, err := http.Get(page + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, %v; want %q in:\n%s", page+path, resp.Status, err, want, body)
		}
	}
	c.Close()
	stopServe(t, cmd, lines)
}
