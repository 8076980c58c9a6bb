package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestServeHTTP runs `proactor serve http --root DIR` and asks it for
// /plaintext and for a file under the root with Go's client.
func TestServeHTTP(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("file a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", "http", "--root", root, "--listen", "127.0.0.1:0", "--loops", "1", "--control", "off")
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
			t.Errorf("serve http: %v; stderr:\n%s", err, &stderr)
		}
	})
	addr := waitListening(t, ctx, lines)
	client := &http.Client{Timeout: testTimeout}
	for path, want := range map[string]string{"/plaintext": "Hello, World!", "/a.txt": "file a\n"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("%s: %d %q, err %v", path, resp.StatusCode, body, err)
		}
	}
}
