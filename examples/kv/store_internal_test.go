package kv

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeClock is the store's clock in the tests: it moves only when told.
type fakeClock struct{ now int64 }

func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

// newTestHandler returns a handler whose store runs on a fake clock.
func newTestHandler(t *testing.T) (*Handler, *fakeClock) {
	h := NewHandler()
	t.Cleanup(func() { h.Close() })
	clock := &fakeClock{now: 1}
	h.store.clock = func() int64 { return clock.now }
	return h, clock
}

// do runs one inline command (no connection: not for CLIENT) and returns
// its raw reply.
func do(t *testing.T, h *Handler, line string) string {
	t.Helper()
	args, n, _, err := limits.Parse([]byte(line+"\r\n"), nil)
	if err != nil || n == 0 || len(args) == 0 {
		t.Fatalf("parsing %q: %v", line, err)
	}
	out, quit := h.exec(nil, nil, args)
	if quit {
		t.Fatalf("%q quits", line)
	}
	return string(out)
}

func TestCommands(t *testing.T) {
	type step struct{ cmd, want string }
	tests := []struct {
		name  string
		steps []step
	}{
		{"Ping", []step{{"PING", "+PONG\r\n"}, {"ping hello", "$5\r\nhello\r\n"}, {"PING a b", "-ERR wrong number of arguments for 'ping' command\r\n"}}},
		{"Echo", []step{{"ECHO hi", "$2\r\nhi\r\n"}, {"ECHO", "-ERR wrong number of arguments for 'echo' command\r\n"}}},
		{"Select", []step{{"SELECT 0", "+OK\r\n"}, {"SELECT 1", "-ERR DB index is out of range\r\n"}, {"SELECT x", "-ERR value is not an integer or out of range\r\n"}}},
		{"SetGet", []step{{"GET k", "$-1\r\n"}, {"SET k v", "+OK\r\n"}, {"GET k", "$1\r\nv\r\n"}, {"set k longer", "+OK\r\n"}, {"get k", "$6\r\nlonger\r\n"}}},
		{"SetNX", []step{{"SET k a NX", "+OK\r\n"}, {"SET k b NX", "$-1\r\n"}, {"GET k", "$1\r\na\r\n"}}},
		{"SetXX", []step{{"SET k a XX", "$-1\r\n"}, {"GET k", "$-1\r\n"}, {"SET k a", "+OK\r\n"}, {"SET k b xx", "+OK\r\n"}, {"GET k", "$1\r\nb\r\n"}}},
		{"SetSyntax", []step{
			{"SET k v NX XX", "-ERR syntax error\r\n"},
			{"SET k v EX", "-ERR syntax error\r\n"},
			{"SET k v EX 1 PX 1", "-ERR syntax error\r\n"},
			{"SET k v EX 1 KEEPTTL", "-ERR syntax error\r\n"},
			{"SET k v BOGUS", "-ERR syntax error\r\n"},
			{"SET k v EX x", "-ERR value is not an integer or out of range\r\n"},
			{"SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n"},
			{"SET k v PX -5", "-ERR invalid expire time in 'set' command\r\n"},
			{"SET k v EX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"},
			{"SET k", "-ERR wrong number of arguments for 'set' command\r\n"},
			{"GET k", "$-1\r\n"},
		}},
		{"DelExists", []step{{"MSET a 1 b 2", "+OK\r\n"}, {"EXISTS a b c a", ":3\r\n"}, {"DEL a c", ":1\r\n"}, {"DEL a", ":0\r\n"}, {"EXISTS a b", ":1\r\n"}}},
		{"Incr", []step{
			{"INCR n", ":1\r\n"}, {"INCR n", ":2\r\n"}, {"DECR n", ":1\r\n"}, {"INCRBY n 41", ":42\r\n"}, {"DECRBY n 50", ":-8\r\n"},
			{"GET n", "$2\r\n-8\r\n"},
			{"INCRBY n x", "-ERR value is not an integer or out of range\r\n"},
			{"SET s abc", "+OK\r\n"}, {"INCR s", "-ERR value is not an integer or out of range\r\n"},
			{"SET z 007", "+OK\r\n"}, {"INCR z", "-ERR value is not an integer or out of range\r\n"},
			{"SET big 9223372036854775807", "+OK\r\n"}, {"INCR big", "-ERR increment or decrement would overflow\r\n"},
			{"SET small -9223372036854775808", "+OK\r\n"}, {"DECR small", "-ERR increment or decrement would overflow\r\n"},
			{"DECRBY n -9223372036854775808", "-ERR value is not an integer or out of range\r\n"},
		}},
		{"MGetMSet", []step{
			{"MSET a 1 b 2 a 3", "+OK\r\n"}, {"MGET a b c", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n"},
			{"MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"},
			{"MGET", "-ERR wrong number of arguments for 'mget' command\r\n"},
		}},
		{"DBSizeFlush", []step{{"DBSIZE", ":0\r\n"}, {"MSET a 1 b 2", "+OK\r\n"}, {"DBSIZE", ":2\r\n"}, {"FLUSHALL", "+OK\r\n"}, {"DBSIZE", ":0\r\n"}, {"FLUSHALL NOW", "-ERR syntax error\r\n"}, {"FLUSHDB ASYNC", "+OK\r\n"}}},
		{"Unknown", []step{
			{"NOPE a b", "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n"},
			{"NOPE", "-ERR unknown command 'NOPE', with args beginning with: \r\n"},
			{strings.Repeat("x", 20), "-ERR unknown command '" + strings.Repeat("x", 20) + "', with args beginning with: \r\n"},
		}},
		{"Config", []step{
			{"CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
			{"CONFIG GET appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
			{"config get SAVE nothing", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
			{"CONFIG GET max*", "*4\r\n$10\r\nmaxclients\r\n$1\r\n0\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"},
			{"CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n"},
			{"CONFIG SET save x", "-ERR CONFIG SET is not supported by this server\r\n"},
			{"CONFIG BOGUS", "-ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.\r\n"},
		}},
		{"Command", []step{
			{"COMMAND COUNT", ":25\r\n"},
			{"COMMAND INFO get nope", "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n*0\r\n*0\r\n*-1\r\n"},
			{"COMMAND DOCS echo", "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$25\r\nReturns the given string.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"},
			{"COMMAND NOPE", "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			for _, s := range tt.steps {
				if got := do(t, h, s.cmd); got != s.want {
					t.Fatalf("%s: got %q, want %q", s.cmd, got, s.want)
				}
			}
		})
	}
}

// TestCommandList checks that COMMAND with no arguments describes every
// command, and that redis-cli's COMMAND DOCS with no arguments covers them
// all: both are parsed back as a client would.
func TestCommandList(t *testing.T) {
	h, _ := newTestHandler(t)
	for _, cmd := range []string{"COMMAND", "COMMAND DOCS", "COMMAND LIST"} {
		reply := do(t, h, cmd)
		n, rest := arrayLen(t, reply)
		want := len(h.names)
		if cmd == "COMMAND DOCS" {
			want *= 2
		}
		if n != want {
			t.Errorf("%s: %d elements, want %d", cmd, n, want)
		}
		for _, name := range h.names {
			if !strings.Contains(rest, "$"+itoaTest(len(name))+"\r\n"+name+"\r\n") {
				t.Errorf("%s does not name %q", cmd, name)
			}
		}
	}
}

func arrayLen(t *testing.T, reply string) (int, string) {
	t.Helper()
	head, rest, ok := strings.Cut(reply, "\r\n")
	if !ok || head[0] != '*' {
		t.Fatalf("not an array: %.40q", reply)
	}
	n, ok := parseInt([]byte(head[1:]))
	if !ok {
		t.Fatalf("bad array header %q", head)
	}
	return int(n), rest
}

func itoaTest(n int) string { return strconv.Itoa(n) }

func TestExpiry(t *testing.T) {
	h, clock := newTestHandler(t)
	steps := []struct {
		cmd   string
		want  string
		after time.Duration // the clock moves by this after the step
	}{
		{cmd: "SET k v EX 10", want: "+OK\r\n"},
		{cmd: "TTL k", want: ":10\r\n"},
		{cmd: "PTTL k", want: ":10000\r\n", after: 2500 * time.Millisecond},
		{cmd: "TTL k", want: ":8\r\n"}, // 7.5 s rounds up, as in Redis
		{cmd: "PTTL k", want: ":7500\r\n"},
		{cmd: "INCR k", want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: "SET k v KEEPTTL", want: "+OK\r\n"},
		{cmd: "PTTL k", want: ":7500\r\n"},
		{cmd: "SET k v", want: "+OK\r\n"},
		{cmd: "TTL k", want: ":-1\r\n"},
		{cmd: "TTL missing", want: ":-2\r\n"},
		{cmd: "EXPIRE missing 5", want: ":0\r\n"},
		{cmd: "PEXPIRE k 1500", want: ":1\r\n", after: 1499 * time.Millisecond},
		{cmd: "GET k", want: "$1\r\nv\r\n", after: time.Millisecond},
		{cmd: "GET k", want: "$-1\r\n"},
		{cmd: "EXISTS k", want: ":0\r\n"},
		{cmd: "SET n 5 PX 100", want: "+OK\r\n"},
		{cmd: "INCR n", want: ":6\r\n"}, // INCR keeps the expiry
		{cmd: "PTTL n", want: ":100\r\n"},
		{cmd: "PERSIST n", want: ":1\r\n"},
		{cmd: "PERSIST n", want: ":0\r\n"},
		{cmd: "TTL n", want: ":-1\r\n"},
		{cmd: "EXPIRE n 0", want: ":1\r\n"}, // a time not after now deletes
		{cmd: "GET n", want: "$-1\r\n"},
		{cmd: "EXPIRE n x", want: "-ERR value is not an integer or out of range\r\n"},
		{cmd: "SET a 1 EX 1", want: "+OK\r\n"},
		{cmd: "SET b 1 EX 1", want: "+OK\r\n", after: time.Second},
		{cmd: "DBSIZE", want: ":2\r\n"}, // expired, not yet removed
		{cmd: "DEL a b", want: ":0\r\n"},
		{cmd: "DBSIZE", want: ":0\r\n"},
	}
	for _, s := range steps {
		if got := do(t, h, s.cmd); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.cmd, got, s.want)
		}
		clock.advance(s.after)
	}
}

// TestSweep checks that the sweep removes expired keys that nothing
// touches, in bounded passes, and leaves the others.
func TestSweep(t *testing.T) {
	h, clock := newTestHandler(t)
	const volatile, lasting = 60000, 1000 // 234 volatile keys a shard: 3 passes at least
	for i := range volatile {
		do(t, h, "SET v"+itoaTest(i)+" x PX 10")
	}
	for i := range lasting {
		do(t, h, "SET l"+itoaTest(i)+" x")
	}
	do(t, h, "SET later x EX 100")
	if n := h.store.sweep(); n != 0 {
		t.Fatalf("the sweep removed %d keys before any expired", n)
	}
	clock.advance(10 * time.Millisecond)
	perPass := numShards * sweepRounds * sweepSample
	removed, passes := 0, 0
	for removed < volatile {
		n := h.store.sweep()
		if n == 0 || n > perPass {
			t.Fatalf("pass %d removed %d keys, want 1 to %d while %d remain", passes, n, perPass, volatile-removed)
		}
		removed += n
		passes++
	}
	if removed != volatile || passes < 3 {
		t.Fatalf("%d keys removed in %d passes", removed, passes)
	}
	if got := do(t, h, "DBSIZE"); got != ":"+itoaTest(lasting+1)+"\r\n" {
		t.Errorf("DBSIZE after the sweep: %q, want %d", got, lasting+1)
	}
	if got := do(t, h, "TTL later"); got != ":100\r\n" {
		t.Errorf("TTL later: %q", got)
	}
}

// TestMultiKeyAtomic runs MSET and MGET on the same keys from several
// goroutines: MGET must never see half of an MSET, which locking every
// shard of the keys, in order, guarantees (and the race detector checks
// the locking).
func TestMultiKeyAtomic(t *testing.T) {
	h, _ := newTestHandler(t)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	mset := func(v string) string {
		var b strings.Builder
		b.WriteString("MSET")
		for _, k := range keys {
			b.WriteString(" " + k + " " + v)
		}
		return b.String()
	}
	do(t, h, mset("0"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 500 {
			// Not do: t.Fatal belongs to the test's goroutine.
			args, _, _, _ := limits.Parse([]byte(mset(itoaTest(i%2))+"\r\n"), nil)
			h.exec(nil, nil, args)
		}
	}()
	for range 500 {
		reply := do(t, h, "MGET "+strings.Join(keys, " "))
		if reply != "*8\r\n"+strings.Repeat("$1\r\n0\r\n", 8) &&
			reply != "*8\r\n"+strings.Repeat("$1\r\n1\r\n", 8) {
			t.Fatalf("MGET saw a partial MSET: %q", reply)
		}
	}
	<-done
}

// TestCloseWithoutConnections checks that Close returns whether or not the
// sweep ever started, and twice.
func TestCloseWithoutConnections(t *testing.T) {
	h := NewHandler()
	h.Close()
	h.Close()
	h.OnOpen(nil) // after Close: the sweep must not start
	select {
	case <-h.done:
	default:
		t.Fatal("done is open after Close")
	}
}
