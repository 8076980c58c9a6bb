//go:build !race

package kv

import "testing"

// TestExecAllocs asserts that the commands redis-benchmark sends allocate
// nothing once their key exists: parsing, the lookup by name, the store's
// lock and map, and the reply appended to a buffer with room. The race
// detector allocates on its own, hence the build tag.
func TestExecAllocs(t *testing.T) {
	h, _ := newTestHandler(t)
	do(t, h, "SET key:__rand_int__ xxx")
	do(t, h, "INCR counter:__rand_int__")
	for _, line := range []string{
		"SET key:__rand_int__ yyy",
		"GET key:__rand_int__",
		"INCR counter:__rand_int__",
		"PING",
		"MGET key:__rand_int__ counter:__rand_int__",
	} {
		in := []byte(line + "\r\n")
		args := make([][]byte, 0, 8)
		out := make([]byte, 0, 256)
		allocs := testing.AllocsPerRun(100, func() {
			args, _, _, _ = limits.Parse(in, args[:0])
			out, _ = h.exec(nil, out[:0], args)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per command, want 0", line, allocs)
		}
	}
}
