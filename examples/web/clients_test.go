package web_test

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// run runs a client with stdin, bounded by waitLimit, and returns its
// standard output; it fails the test if the client fails.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(servertest.Tool(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(waitLimit, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out.Bytes(), errs.Bytes())
	}
	return out.String()
}

func TestCurl(t *testing.T) {
	servertest.Tool(t, "curl")
	root := tree(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		base := "http://" + start(t, engine, root)
		big := strings.Repeat("x", 200_000)
		tests := []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{"plaintext", "", []string{base + "/plaintext"}, "Hello, World!"},
			{"json", "", []string{base + "/json"}, `{"message":"Hello, World!"}`},
			{"range", "", []string{"-r", "0-9", base + "/data.bin"}, "0123456789"},
			{"post", "a body", []string{"--data-binary", "@-", base + "/echo"}, "a body"},
			{"post chunked", big, []string{"--data-binary", "@-", "-H", "Transfer-Encoding: chunked", base + "/echo"}, big},
			{"post expect 100", big, []string{"--data-binary", "@-", "-H", "Expect: 100-continue", base + "/echo"}, big},
			{"http/1.0", "", []string{"--http1.0", base + "/plaintext"}, "Hello, World!"},
			{"head", "", []string{"-I", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", base + "/hello.txt"}, "200 0"},
			{"404", "", []string{"-o", "/dev/null", "-w", "%{http_code}", base + "/nope"}, "404"},
			{"416", "", []string{"-r", "50-60", "-o", "/dev/null", "-w", "%{http_code}", base + "/data.bin"}, "416"},
			// Two URLs in one command: the second reuses the connection
			// (no new connect).
			{"keep-alive", "", []string{"-w", " %{num_connects}\n", base + "/plaintext", base + "/json"},
				"Hello, World! 1\n" + `{"message":"Hello, World!"} 0` + "\n"},
		}
		for _, tt := range tests {
			args := append([]string{"-sS", "--max-time", "10"}, tt.args...)
			if got := run(t, tt.stdin, "curl", args...); got != tt.want {
				if len(got) > 200 {
					got = got[:200] + "..."
				}
				t.Fatalf("%s: got %q", tt.name, got)
			}
		}
	})
}

// TestWrk runs wrk for two seconds with ten connections and checks that
// every response was a 2xx and no socket failed.
func TestWrk(t *testing.T) {
	servertest.Tool(t, "wrk")
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine, "")
		out := run(t, "", "wrk", "-t1", "-c10", "-d2s", "--timeout", "5s", "http://"+addr+"/plaintext")
		m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no request count in wrk's output:\n%s", out)
		}
		if n, _ := strconv.Atoi(m[1]); n == 0 || strings.Contains(out, "Non-2xx") || strings.Contains(out, "Socket errors") {
			t.Fatalf("wrk saw errors:\n%s", out)
		}
		t.Logf("%s: %s requests in 2 s", engine, m[1])
	})
}
