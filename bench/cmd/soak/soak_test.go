package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed487d475b/proactor"
)

func TestStreamCheck(t *testing.T) {
	const seed = 42
	b := make([]byte, 1000)
	fillStream(b, seed, 0)
	tail := make([]byte, 500)
	fillStream(tail, seed, 500)
	if string(tail) != string(b[500:]) {
		t.Fatal("a stream filled from an offset differs from the same bytes filled from 0")
	}
	if err := checkStream(b[123:777], seed, 123); err != nil {
		t.Fatalf("the stream itself: %v", err)
	}
	cases := []struct {
		name string
		got  []byte
	}{
		{"a byte changed", func() []byte { c := append([]byte(nil), b...); c[600] ^= 1; return c }()},
		{"a byte missing", append(append([]byte(nil), b[:300]...), b[301:]...)},
		{"a word missing", append(append([]byte(nil), b[:304]...), b[312:]...)},
		{"a word repeated", append(append([]byte(nil), b[:312]...), b[304:]...)},
		{"another seed", func() []byte { c := make([]byte, len(b)); fillStream(c, seed+1, 0); return c }()},
	}
	for _, tc := range cases {
		if err := checkStream(tc.got, seed, 0); err == nil {
			t.Errorf("%s: not detected", tc.name)
		}
	}
}

func TestParseBanner(t *testing.T) {
	cases := []struct {
		line string
		want banner
	}{
		{"proactor: echo listening on 127.0.0.1:36487 (engine uring, 2 loops)\n", banner{addr: "127.0.0.1:36487"}},
		{"proactor: control on /tmp/x/echo.sock\n", banner{control: true}},
		{"proactor: metrics on http://127.0.0.1:41401/metrics\n", banner{metrics: "http://127.0.0.1:41401/metrics"}},
		{"proactor: shutting down\n", banner{}},
		{"something else\n", banner{}},
	}
	for _, tc := range cases {
		if got := parseBanner(tc.line); got != tc.want {
			t.Errorf("parseBanner(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func TestParseGoroutines(t *testing.T) {
	body := "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 17\ngo_threads 9\n"
	if n, err := parseGoroutines([]byte(body)); err != nil || n != 17 {
		t.Fatalf("parseGoroutines = %d, %v; want 17", n, err)
	}
	if _, err := parseGoroutines([]byte("go_threads 9\n")); err == nil {
		t.Fatal("no error without go_goroutines")
	}
}

func TestVerdict(t *testing.T) {
	clean := func() *serverResult {
		r := &serverResult{name: "echo", load: loadResult{replies: 100}}
		for _, v := range []int64{20, 60, 21} {
			r.fds.add(v)
			r.goroutines.add(v / 2)
		}
		r.faults = []*faultStats{{kind: "silent"}}
		return r
	}
	m := margins{fds: 4, goroutines: 8}
	if r := clean(); r.fds != (series{20, 60, 21, 3}) {
		t.Fatalf("series = %+v, want start 20 peak 60 end 21", r.fds)
	}
	if got := verdict(clean(), m); len(got) != 0 {
		t.Fatalf("a clean run fails: %q", got)
	}
	cases := []struct {
		name  string
		spoil func(r *serverResult)
		want  string
	}{
		{"fd leak", func(r *serverResult) { r.fds.add(25) }, "descriptors"},
		{"goroutine leak", func(r *serverResult) { r.goroutines.add(19) }, "goroutines"},
		{"open connections", func(r *serverResult) { r.stats = proactor.Stats{Active: 2} }, "still open"},
		{"correct client error", func(r *serverResult) { r.load.errors, r.load.err = 1, errors.New("x") }, "correct clients"},
		{"no load", func(r *serverResult) { r.load.replies = 0 }, "no reply"},
		{"fault failure", func(r *serverResult) { r.faults[0].fail(errors.New("kept")) }, "silent: 1 failures"},
		{"panic", func(r *serverResult) { r.stats = proactor.Stats{Panics: 1} }, "panics"},
		{"exit status", func(r *serverResult) { r.exitCode = 1 }, "exit status"},
	}
	for _, tc := range cases {
		r := clean()
		tc.spoil(r)
		got := verdict(r, m)
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: verdict %q, want one line with %q", tc.name, got, tc.want)
		}
	}
}

// testServer serves each connection with handle on 127.0.0.1:0 until the
// test ends.
func testServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// skipper echoes everything but bytes 5000 to 5099: a hole in the stream.
func skipper(c net.Conn) {
	const from, to = 5000, 5100
	buf := make([]byte, 4096)
	var off int
	for {
		n, err := c.Read(buf)
		for i := 0; i < n; {
			pos := off + i
			end := n
			switch {
			case pos >= from && pos < to:
				i = min(n, to-off) // skip the hole
				continue
			case pos < from:
				end = min(n, from-off)
			}
			if _, werr := c.Write(buf[i:end]); werr != nil {
				return
			}
			i = end
		}
		off += n
		if err != nil {
			return
		}
	}
}

// TestFaultClientsJudge runs single fault clients against small servers
// that behave and misbehave, and checks the soak tells them apart.
func TestFaultClientsJudge(t *testing.T) {
	ctx := context.Background()
	cfg := faultConfig{firstData: 100 * time.Millisecond, read: 100 * time.Millisecond, write: 100 * time.Millisecond, slack: 300 * time.Millisecond, slowLife: 300 * time.Millisecond}
	echo := func(c net.Conn) { io.Copy(c, c) }
	closeSoon := func(c net.Conn) { time.Sleep(50 * time.Millisecond) }
	keep := func(c net.Conn) { io.Copy(io.Discard, c) } // reads, never closes
	talks := func(c net.Conn) { c.Write([]byte("hello")); io.Copy(io.Discard, c) }

	cases := []struct {
		name   string
		server func(net.Conn)
		client func(st *faultStats, addr string, rng *rand.Rand)
		fails  string // what the first error must say; "" for none
	}{
		{"silent closed in time", closeSoon, func(st *faultStats, a string, _ *rand.Rand) { silentClient(ctx, st, a, cfg) }, ""},
		{"silent kept", keep, func(st *faultStats, a string, _ *rand.Rand) { silentClient(ctx, st, a, cfg) }, "still open"},
		{"silent answered", talks, func(st *faultStats, a string, _ *rand.Rand) { silentClient(ctx, st, a, cfg) }, `sent "hello"`},
		{"unfinished closed in time", closeSoon, func(st *faultStats, a string, _ *rand.Rand) { partialClient(ctx, st, a, cfg, []byte("ECHO x")) }, ""},
		{"unfinished kept", keep, func(st *faultStats, a string, _ *rand.Rand) { partialClient(ctx, st, a, cfg, []byte("ECHO x")) }, "still open"},
		{"reset against an echo", echo, func(st *faultStats, a string, rng *rand.Rand) { resetClient(ctx, st, a, rng) }, ""},
		{"slow reader against an echo", echo, func(st *faultStats, a string, rng *rand.Rand) { slowClient(ctx, st, a, cfg, false, rng) }, ""},
		{"never-reader kept", keep, func(st *faultStats, a string, rng *rand.Rand) { slowClient(ctx, st, a, cfg, true, rng) }, "still open"},
		{"slow reader against a hole", skipper, func(st *faultStats, a string, rng *rand.Rand) { slowClient(ctx, st, a, cfg, false, rng) }, "differs from the stream at byte 5000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := testServer(t, tc.server)
			st := &faultStats{kind: tc.name}
			tc.client(st, addr, rand.New(rand.NewPCG(1, 2)))
			err := st.err()
			switch {
			case tc.fails == "" && err != nil:
				t.Fatalf("failed: %v", err)
			case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
				t.Fatalf("first error %v, want one saying %q", err, tc.fails)
			}
		})
	}
}
