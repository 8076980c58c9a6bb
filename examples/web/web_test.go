package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/web"
)

// waitLimit bounds every wait on the server, so that a bug fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 20 * time.Second

// forEachEngine runs fn in a parallel subtest per engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range proactor.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// start serves dir ("" for no files) with two loops on a free port until
// the test ends, and returns its address.
func start(t *testing.T, engine, dir string) string {
	t.Helper()
	h, err := web.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := proactor.NewServer(h, proactor.WithEngineName(engine), proactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	addr, err := srv.Listen("127.0.0.1:0", web.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

// tree makes a root to serve, and a secret beside it that no request may
// reach, by ".." or by a symbolic link.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	files := map[string]string{
		"root/hello.txt":      "Hello, file!\n",
		"root/data.bin":       "0123456789abcdefghij",
		"root/empty.json":     "",
		"root/sub/index.html": "<p>index</p>",
		"root/sub/a b.txt":    "spaced",
		"root/.hidden":        "hidden",
		"secret.txt":          "secret",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("hello.txt", filepath.Join(root, "inside.txt")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTechEmpower(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, "")
		client := &http.Client{Timeout: waitLimit}
		for _, tt := range []struct{ path, ctype, body string }{
			{"/plaintext", "text/plain", "Hello, World!"},
			{"/json", "application/json", `{"message":"Hello, World!"}`},
		} {
			resp, err := client.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != tt.body ||
				resp.Header.Get("Content-Type") != tt.ctype || resp.Header.Get("Server") == "" {
				t.Fatalf("%s: %d %q %v, err %v", tt.path, resp.StatusCode, b, resp.Header, err)
			}
		}
		// No files without a root.
		resp, err := client.Get("http://" + addr + "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("a file without a root: %d", resp.StatusCode)
		}
	})
}

// raw sends one request as written (no client cleans its path) and
// returns the response's status and body.
func raw(t *testing.T, addr, req string) (int, string, http.Header) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestFiles(t *testing.T) {
	root := tree(t)
	modified, err := os.Stat(filepath.Join(root, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lastMod := modified.ModTime().UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		req     string // request line and fields, without Host
		status  int
		body    string
		headers map[string]string
	}{
		{"file", "GET /hello.txt HTTP/1.1", 200, "Hello, file!\n",
			map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "13", "Last-Modified": lastMod}},
		{"head", "HEAD /hello.txt HTTP/1.1", 200, "", map[string]string{"Content-Length": "13"}},
		{"range", "GET /data.bin HTTP/1.1\r\nRange: bytes=2-5", 206, "2345",
			map[string]string{"Content-Range": "bytes 2-5/20", "Content-Length": "4"}},
		{"open range", "GET /data.bin HTTP/1.1\r\nRange: bytes=15-", 206, "fghij",
			map[string]string{"Content-Range": "bytes 15-19/20"}},
		{"suffix range", "GET /data.bin HTTP/1.1\r\nRange: bytes=-3", 206, "hij",
			map[string]string{"Content-Range": "bytes 17-19/20"}},
		{"range past the end clamped", "GET /data.bin HTTP/1.1\r\nRange: bytes=18-99", 206, "ij", nil},
		{"unsatisfiable", "GET /data.bin HTTP/1.1\r\nRange: bytes=20-", 416, "",
			map[string]string{"Content-Range": "bytes */20"}},
		{"several ranges: the whole", "GET /data.bin HTTP/1.1\r\nRange: bytes=0-1,4-5", 200, "0123456789abcdefghij", nil},
		{"not modified", "GET /hello.txt HTTP/1.1\r\nIf-Modified-Since: " + lastMod, 304, "", nil},
		{"modified", "GET /hello.txt HTTP/1.1\r\nIf-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT", 200, "Hello, file!\n", nil},
		{"empty", "GET /empty.json HTTP/1.1", 200, "",
			map[string]string{"Content-Length": "0", "Content-Type": "application/json"}},
		{"index", "GET /sub/ HTTP/1.1", 200, "<p>index</p>", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"escaped name", "GET /sub/a%20b.txt HTTP/1.1", 200, "spaced", nil},
		{"link inside", "GET /inside.txt HTTP/1.1", 200, "Hello, file!\n", nil},
		{"missing", "GET /nope HTTP/1.1", 404, "", nil},
		{"dot dot", "GET /../secret.txt HTTP/1.1", 400, "", nil},
		{"escaped dot dot", "GET /%2e%2e/secret.txt HTTP/1.1", 400, "", nil},
		{"escaped slash dot dot", "GET /sub%2f..%2f..%2fsecret.txt HTTP/1.1", 400, "", nil},
		{"link out of the root", "GET /escape.txt HTTP/1.1", 404, "", nil},
		{"hidden", "GET /.hidden HTTP/1.1", 404, "", nil},
		{"NUL", "GET /hello.txt%00 HTTP/1.1", 400, "", nil},
		{"post", "POST /hello.txt HTTP/1.1\r\nContent-Length: 0", 405, "", map[string]string{"Allow": "GET, HEAD"}},
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, root)
		for _, tt := range tests {
			status, body, h := raw(t, addr, tt.req+"\r\nHost: x\r\n\r\n")
			if status != tt.status || (tt.body != "" || status == 200) && body != tt.body {
				t.Fatalf("%s: %d %q, want %d %q", tt.name, status, body, tt.status, tt.body)
			}
			if strings.Contains(body, "secret") {
				t.Fatalf("%s: the secret leaked", tt.name)
			}
			for k, v := range tt.headers {
				if h.Get(k) != v {
					t.Fatalf("%s: %s %q, want %q", tt.name, k, h.Get(k), v)
				}
			}
		}
	})
}
