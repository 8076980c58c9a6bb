package kv

import (
	"math"
	"strconv"
	"time"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/resp"
)

// command is one command of the table: what COMMAND reports about it and
// the function that runs it, with the arity already checked.
type command struct {
	name    string
	arity   int      // as in Redis: n exactly n words, name included; -n at least n
	flags   []string // COMMAND's flags
	keys    [3]int   // first key, last key (-1: the last word), step
	group   string   // COMMAND DOCS' group
	summary string
	run     func(h *Handler, c *proactor.Conn, out []byte, args [][]byte) []byte
}

// commandTable returns the commands by name, in lower case.
func commandTable() map[string]*command {
	list := []command{
		{"ping", -1, []string{"fast"}, [3]int{}, "connection", "Returns the server's liveliness response.", cmdPing},
		{"echo", 2, []string{"fast"}, [3]int{}, "connection", "Returns the given string.", cmdEcho},
		{"select", 2, []string{"loading", "stale", "fast"}, [3]int{}, "connection", "Changes the selected database (only 0 exists).", cmdSelect},
		{"quit", -1, []string{"fast"}, [3]int{}, "connection", "Closes the connection.", nil},
		{"set", -3, []string{"write", "denyoom"}, [3]int{1, 1, 1}, "string", "Sets the string value of a key, with an optional expiry, if it exists or not.", cmdSet},
		{"get", 2, []string{"readonly", "fast"}, [3]int{1, 1, 1}, "string", "Returns the string value of a key.", cmdGet},
		{"del", -2, []string{"write"}, [3]int{1, -1, 1}, "generic", "Deletes one or more keys.", cmdDel},
		{"exists", -2, []string{"readonly", "fast"}, [3]int{1, -1, 1}, "generic", "Counts the given keys that exist.", cmdExists},
		{"incr", 2, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}, "string", "Increments the integer value of a key by one.", cmdIncr},
		{"decr", 2, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}, "string", "Decrements the integer value of a key by one.", cmdDecr},
		{"incrby", 3, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}, "string", "Increments the integer value of a key by a number.", cmdIncrBy},
		{"decrby", 3, []string{"write", "denyoom", "fast"}, [3]int{1, 1, 1}, "string", "Decrements the integer value of a key by a number.", cmdDecrBy},
		{"mget", -2, []string{"readonly", "fast"}, [3]int{1, -1, 1}, "string", "Returns the string values of one or more keys.", cmdMGet},
		{"mset", -3, []string{"write", "denyoom"}, [3]int{1, -1, 2}, "string", "Sets the string values of one or more keys.", cmdMSet},
		{"expire", 3, []string{"write", "fast"}, [3]int{1, 1, 1}, "generic", "Sets the expiration time of a key in seconds.", cmdExpire},
		{"pexpire", 3, []string{"write", "fast"}, [3]int{1, 1, 1}, "generic", "Sets the expiration time of a key in milliseconds.", cmdPExpire},
		{"persist", 2, []string{"write", "fast"}, [3]int{1, 1, 1}, "generic", "Removes the expiration time of a key.", cmdPersist},
		{"ttl", 2, []string{"readonly", "fast"}, [3]int{1, 1, 1}, "generic", "Returns the expiration time in seconds of a key.", cmdTTL},
		{"pttl", 2, []string{"readonly", "fast"}, [3]int{1, 1, 1}, "generic", "Returns the expiration time in milliseconds of a key.", cmdPTTL},
		{"dbsize", 1, []string{"readonly", "fast"}, [3]int{}, "server", "Returns the number of keys in the database.", cmdDBSize},
		{"flushall", -1, []string{"write"}, [3]int{}, "server", "Removes all keys.", cmdFlush},
		{"flushdb", -1, []string{"write"}, [3]int{}, "server", "Removes all keys.", cmdFlush},
		{"command", -1, []string{"loading", "stale"}, [3]int{}, "server", "Returns detailed information about the commands.", nil},
		{"config", -2, []string{"admin", "noscript", "loading", "stale"}, [3]int{}, "server", "Returns the values of configuration parameters.", cmdConfig},
		{"client", -2, []string{"noscript", "loading", "stale"}, [3]int{}, "connection", "Names the connection and tells about it.", cmdClient},
	}
	m := make(map[string]*command, len(list))
	for i := range list {
		m[list[i].name] = &list[i]
	}
	return m
}

// exec runs one command and appends its reply to out; quit reports that
// the connection is to close once the replies are out.
func (h *Handler) exec(c *proactor.Conn, out []byte, args [][]byte) (_ []byte, quit bool) {
	cmd := h.lookup(args[0])
	switch {
	case cmd == nil:
		return unknownCommand(out, args), false
	case cmd.arity > 0 && len(args) != cmd.arity, cmd.arity < 0 && len(args) < -cmd.arity:
		return wrongArgs(out, cmd.name), false
	case cmd.name == "quit":
		return resp.AppendSimple(out, "OK"), true
	case cmd.name == "command":
		return h.cmdCommand(out, args), false
	}
	return cmd.run(h, c, out, args), false
}

// lookup finds a command by its name in any case, without allocating.
func (h *Handler) lookup(name []byte) *command {
	var lower [16]byte
	if len(name) > len(lower) {
		return nil
	}
	for i, b := range name {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		lower[i] = b
	}
	return h.commands[string(lower[:len(name)])]
}

// unknownCommand appends redis-server's error for a command it lacks,
// quoting the start of the arguments as it does.
func unknownCommand(out []byte, args [][]byte) []byte {
	msg := append([]byte("ERR unknown command '"), clip(args[0], 128)...)
	msg = append(msg, "', with args beginning with: "...)
	quoted := 0
	for _, a := range args[1:] {
		if quoted >= 128 {
			break
		}
		a = clip(a, 128-quoted)
		msg = append(append(append(msg, '\''), a...), "' "...)
		quoted += len(a) + 3
	}
	return resp.AppendError(out, msg)
}

func clip(b []byte, n int) []byte { return b[:min(len(b), n)] }

func wrongArgs(out []byte, name string) []byte {
	return resp.AppendError(out, "ERR wrong number of arguments for '"+name+"' command")
}

func syntaxError(out []byte) []byte { return resp.AppendError(out, "ERR syntax error") }

func notInteger(out []byte) []byte {
	return resp.AppendError(out, "ERR value is not an integer or out of range")
}

// is reports whether an argument is the keyword kw, ignoring case.
func is(arg []byte, kw string) bool {
	if len(arg) != len(kw) {
		return false
	}
	for i := range arg {
		b := arg[i]
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		if b != kw[i] {
			return false
		}
	}
	return true
}

// parseInt reads a decimal int64 as Redis does: an optional '-', digits,
// no '+', no space, no leading zero, nothing out of range.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 1 && b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 19 || (digits[0] == '0' && (len(digits) > 1 || neg)) {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	}
	return 0, false
}

// deadline returns the store's clock n units from now, or false if that
// overflows.
func (h *Handler) deadline(n int64, unit time.Duration) (int64, bool) {
	now := h.store.now()
	if n > (math.MaxInt64-now)/int64(unit) {
		return 0, false
	}
	return now + n*int64(unit), true
}

func cmdPing(_ *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	switch len(args) {
	case 1:
		return resp.AppendSimple(out, "PONG")
	case 2:
		return resp.AppendBulk(out, args[1])
	}
	return wrongArgs(out, "ping")
}

func cmdEcho(_ *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return resp.AppendBulk(out, args[1])
}

func cmdSelect(_ *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	switch n, ok := parseInt(args[1]); {
	case !ok:
		return notInteger(out)
	case n != 0:
		return resp.AppendError(out, "ERR DB index is out of range")
	}
	return resp.AppendSimple(out, "OK")
}

func cmdSet(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	key, val := args[1], args[2]
	var expire int64
	var nx, xx, keepTTL, timed bool
	for i := 3; i < len(args); i++ {
		opt := args[i]
		switch {
		case is(opt, "NX") && !xx:
			nx = true
		case is(opt, "XX") && !nx:
			xx = true
		case is(opt, "KEEPTTL") && !timed:
			keepTTL = true
		case (is(opt, "EX") || is(opt, "PX")) && !timed && !keepTTL && i+1 < len(args):
			n, ok := parseInt(args[i+1])
			if !ok {
				return notInteger(out)
			}
			unit := time.Second
			if is(opt, "PX") {
				unit = time.Millisecond
			}
			if expire, ok = h.deadline(n, unit); !ok || n <= 0 {
				return resp.AppendError(out, "ERR invalid expire time in 'set' command")
			}
			timed = true
			i++
		default:
			return syntaxError(out)
		}
	}
	s := h.store
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key)
	if nx && e != nil || xx && e == nil {
		return resp.AppendNull(out)
	}
	if keepTTL && e != nil {
		expire = e.expire
	}
	s.put(sh, key, val, expire)
	return resp.AppendSimple(out, "OK")
}

func cmdGet(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	s := h.store
	sh := s.shard(args[1])
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := s.get(sh, args[1]); e != nil {
		return resp.AppendBulk(out, e.val)
	}
	return resp.AppendNull(out)
}

func cmdDel(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	s := h.store
	set := s.lockKeys(args[1:], 1)
	defer s.unlock(set)
	n := 0
	for _, key := range args[1:] {
		sh := s.shard(key)
		if s.get(sh, key) != nil {
			s.remove(sh, key)
			n++
		}
	}
	return resp.AppendInt(out, int64(n))
}

func cmdExists(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	s := h.store
	set := s.lockKeys(args[1:], 1)
	defer s.unlock(set)
	n := 0
	for _, key := range args[1:] {
		if s.get(s.shard(key), key) != nil {
			n++
		}
	}
	return resp.AppendInt(out, int64(n))
}

func cmdIncr(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.incr(out, args[1], 1)
}

func cmdDecr(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.incr(out, args[1], -1)
}

func cmdIncrBy(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	n, ok := parseInt(args[2])
	if !ok {
		return notInteger(out)
	}
	return h.incr(out, args[1], n)
}

func cmdDecrBy(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	n, ok := parseInt(args[2])
	if !ok || n == math.MinInt64 {
		return notInteger(out)
	}
	return h.incr(out, args[1], -n)
}

// incr adds delta to the integer in key (0 if missing), keeping its
// expiry, as INCR does.
func (h *Handler) incr(out, key []byte, delta int64) []byte {
	s := h.store
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key)
	var v int64
	if e != nil {
		var ok bool
		if v, ok = parseInt(e.val); !ok {
			return notInteger(out)
		}
	}
	if delta > 0 && v > math.MaxInt64-delta || delta < 0 && v < math.MinInt64-delta {
		return resp.AppendError(out, "ERR increment or decrement would overflow")
	}
	v += delta
	if e == nil {
		var digits [20]byte
		s.put(sh, key, strconv.AppendInt(digits[:0], v, 10), 0)
	} else {
		e.val = strconv.AppendInt(e.val[:0], v, 10)
	}
	return resp.AppendInt(out, v)
}

func cmdMGet(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	s := h.store
	set := s.lockKeys(args[1:], 1)
	defer s.unlock(set)
	out = resp.AppendArray(out, len(args)-1)
	for _, key := range args[1:] {
		if e := s.get(s.shard(key), key); e != nil {
			out = resp.AppendBulk(out, e.val)
		} else {
			out = resp.AppendNull(out)
		}
	}
	return out
}

func cmdMSet(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	if len(args)%2 == 0 {
		return wrongArgs(out, "mset")
	}
	s := h.store
	set := s.lockKeys(args[1:], 2)
	defer s.unlock(set)
	for i := 1; i < len(args); i += 2 {
		s.put(s.shard(args[i]), args[i], args[i+1], 0)
	}
	return resp.AppendSimple(out, "OK")
}

func cmdExpire(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.expire(out, args, time.Second, "expire")
}

func cmdPExpire(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.expire(out, args, time.Millisecond, "pexpire")
}

// expire sets a key's expiry n units from now; a time not after now
// deletes the key, as in Redis.
func (h *Handler) expire(out []byte, args [][]byte, unit time.Duration, name string) []byte {
	n, ok := parseInt(args[2])
	if !ok {
		return notInteger(out)
	}
	at, ok := h.deadline(n, unit)
	if !ok {
		return resp.AppendError(out, "ERR invalid expire time in '"+name+"' command")
	}
	s := h.store
	key := args[1]
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key)
	switch {
	case e == nil:
		return resp.AppendInt(out, 0)
	case n <= 0:
		s.remove(sh, key)
	default:
		s.setExpire(sh, key, e, at)
	}
	return resp.AppendInt(out, 1)
}

func cmdPersist(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	s := h.store
	sh := s.shard(args[1])
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, args[1])
	if e == nil || e.expire == 0 {
		return resp.AppendInt(out, 0)
	}
	s.setExpire(sh, args[1], e, 0)
	return resp.AppendInt(out, 1)
}

func cmdTTL(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.ttl(out, args[1], time.Second)
}

func cmdPTTL(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	return h.ttl(out, args[1], time.Millisecond)
}

// ttl appends the time left to key in units, rounded to the nearest (as
// redis-server does for TTL), -1 without an expiry, -2 for no key.
func (h *Handler) ttl(out, key []byte, unit time.Duration) []byte {
	s := h.store
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key)
	switch {
	case e == nil:
		return resp.AppendInt(out, -2)
	case e.expire == 0:
		return resp.AppendInt(out, -1)
	}
	left := time.Duration(e.expire - s.now())
	if unit == time.Second {
		left = (left/time.Millisecond + 500) * time.Millisecond
	}
	return resp.AppendInt(out, int64(left/unit))
}

func cmdDBSize(h *Handler, _ *proactor.Conn, out []byte, _ [][]byte) []byte {
	return resp.AppendInt(out, int64(h.store.size()))
}

func cmdFlush(h *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	if len(args) > 2 || len(args) == 2 && !is(args[1], "ASYNC") && !is(args[1], "SYNC") {
		return syntaxError(out)
	}
	h.store.flush()
	return resp.AppendSimple(out, "OK")
}
