package proactor

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestConnSet checks the open-addressing set against a map through random
// adds and removes, IDs sequential as the engine hands them out.
func TestConnSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s connSet
	model := map[uint64]*Conn{}
	var next uint64
	for step := range 60000 {
		if len(model) == 0 || rng.IntN(100) < 55 {
			next++
			c := &Conn{id: next}
			s.add(c)
			model[c.id] = c
		} else {
			// remove an existing ID, or now and then one that is absent
			id := uint64(rng.Int64N(int64(next))) + 1
			s.remove(id)
			delete(model, id)
		}
		if s.n != len(model) {
			t.Fatalf("step %d: %d entries, want %d", step, s.n, len(model))
		}
		if step%600 == 0 {
			for id := uint64(1); id <= next; id++ {
				if got, want := s.get(id), model[id]; got != want {
					t.Fatalf("step %d: get(%d) = %p, want %p", step, id, got, want)
				}
			}
		}
	}
	seen := 0
	for _, c := range s.slots {
		if c != nil {
			seen++
			if model[c.id] != c {
				t.Fatalf("stray entry %d", c.id)
			}
		}
	}
	if seen != len(model) {
		t.Fatalf("%d entries in the array, want %d", seen, len(model))
	}
}

// TestConnSize guards the size of Conn, most of an idle connection's
// memory (docs/ARCHITECTURE.md, "Memory per connection"): 256 bytes is a Go
// size class, and one field more moves it to the next (288).
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the budget is for 64-bit platforms")
	}
	if n := unsafe.Sizeof(Conn{}); n > 256 {
		t.Fatalf("Conn is %d bytes; the budget is 256", n)
	}
}
