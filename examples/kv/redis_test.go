package kv_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed487d475b/proactor/internal/servertest"
)

// The tests in this file drive the store with the real clients, redis-cli
// and redis-benchmark (Debian's redis-tools). They skip where the tools are
// missing, except in CI (CI set), where .ci/run installs them and a missing
// tool is a failure, never a silent skip.

// run runs a tool against the server at addr, with stdin as its input,
// bounded in time, and returns its standard output.
func run(t *testing.T, addr, stdin, name string, args ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, servertest.Tool(t, name), append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\nstdout: %s\nstderr: %s", name, args, err, out, stderr.String())
	}
	return string(out)
}

func TestRedisCLI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine)
		steps := []struct {
			args []string
			want string
		}{
			{[]string{"PING"}, "PONG\n"},
			{[]string{"SET", "k", "v"}, "OK\n"},
			{[]string{"GET", "k"}, "v\n"},
			{[]string{"INCR", "n"}, "1\n"},
			{[]string{"INCRBY", "n", "41"}, "42\n"},
			{[]string{"SET", "t", "x", "EX", "100"}, "OK\n"},
			{[]string{"PERSIST", "t"}, "1\n"},
			{[]string{"TTL", "t"}, "-1\n"},
			{[]string{"EXPIRE", "t", "100"}, "1\n"},
			{[]string{"MSET", "a", "1", "b", "2"}, "OK\n"},
			{[]string{"MGET", "a", "b", "missing"}, "1\n2\n\n"},
			{[]string{"DEL", "a", "missing"}, "1\n"},
			{[]string{"EXISTS", "a", "b"}, "1\n"},
			{[]string{"DBSIZE"}, "4\n"},
			// Without a terminal redis-cli prints an error and an empty line.
			{[]string{"NOPE"}, "ERR unknown command 'NOPE', with args beginning with: \n\n"},
		}
		for _, s := range steps {
			if got := run(t, addr, "", "redis-cli", s.args...); got != s.want {
				t.Fatalf("redis-cli %q: %q, want %q", s.args, got, s.want)
			}
		}
		// A loaded machine may take seconds between two redis-cli runs.
		got := run(t, addr, "", "redis-cli", "TTL", "t")
		if ttl, err := strconv.Atoi(strings.TrimSpace(got)); err != nil || ttl < 80 || ttl > 100 {
			t.Errorf("TTL after EXPIRE 100: %q", got)
		}
		if got := run(t, addr, "", "redis-cli", "FLUSHALL"); got != "OK\n" {
			t.Errorf("FLUSHALL: %q", got)
		}
		if got := run(t, addr, "", "redis-cli", "DBSIZE"); got != "0\n" {
			t.Errorf("DBSIZE after FLUSHALL: %q", got)
		}
		// Commands read from standard input, one connection, in order.
		if got := run(t, addr, "SET x 5\nINCR x\nGET x\nECHO \"two words\"\n", "redis-cli"); got != "OK\n6\n6\ntwo words\n" {
			t.Errorf("redis-cli with commands on stdin: %q", got)
		}
	})
}

// TestRedisCLIPipe sends many commands at once with redis-cli --pipe, the
// mass-insertion mode, which ends with an ECHO it waits for.
func TestRedisCLIPipe(t *testing.T) {
	const n = 5000
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine)
		var in strings.Builder
		for i := range n {
			key := "key:" + strconv.Itoa(i)
			fmt.Fprintf(&in, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n", len(key), key)
		}
		out := run(t, addr, in.String(), "redis-cli", "--pipe")
		if !strings.Contains(out, fmt.Sprintf("errors: 0, replies: %d", n)) {
			t.Fatalf("redis-cli --pipe: %s", out)
		}
		if got := run(t, addr, "", "redis-cli", "DBSIZE"); got != fmt.Sprintf("%d\n", n) {
			t.Errorf("DBSIZE after --pipe: %q, want %d", got, n)
		}
	})
}

// benchLine is one test's result in redis-benchmark's quiet output.
var benchLine = regexp.MustCompile(`(?m)(SET|GET|INCR): ([0-9.]+) requests per second`)

func TestRedisBenchmark(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		addr := start(t, engine)
		out := run(t, addr, "", "redis-benchmark", "-n", "2000", "-c", "10", "-P", "4", "-t", "set,get,incr", "-q")
		// Quiet mode rewrites a progress line with "\r" before each result.
		results := map[string]float64{}
		for _, m := range benchLine.FindAllStringSubmatch(strings.ReplaceAll(out, "\r", "\n"), -1) {
			rps, err := strconv.ParseFloat(m[2], 64)
			if err != nil || rps <= 0 {
				t.Fatalf("%s: %q requests per second", m[1], m[2])
			}
			results[m[1]] = rps
		}
		if len(results) != 3 {
			t.Fatalf("redis-benchmark reported %v; output:\n%s", results, out)
		}
		t.Logf("%s: %v requests per second", engine, results)
		// Every INCR of the run landed: redis-benchmark's key is fixed.
		if got := run(t, addr, "", "redis-cli", "GET", "counter:__rand_int__"); got != "2000\n" {
			t.Errorf("the counter after 2000 INCRs: %q", got)
		}
	})
}
