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
		if int(s.n) != len(model) {
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
	s.all(func(c *Conn) {
		seen++
		if model[c.id] != c {
			t.Fatalf("stray entry %d", c.id)
		}
	})
	if seen != len(model) {
		t.Fatalf("%d entries in the pages, want %d", seen, len(model))
	}
	checkPages(t, &s)
}

// checkPages checks the directory's structure: each page fills the
// aligned run of entries its depth says, and counts what it holds.
func checkPages(t *testing.T, s *connSet) {
	t.Helper()
	if len(s.dir) != 1<<s.depth {
		t.Fatalf("directory of %d entries at depth %d", len(s.dir), s.depth)
	}
	for i := 0; i < len(s.dir); {
		p := s.dir[i]
		w := 1 << (s.depth - p.depth)
		if i%w != 0 {
			t.Fatalf("page at %d of width %d is not aligned", i, w)
		}
		for k := i; k < i+w; k++ {
			if s.dir[k] != p {
				t.Fatalf("entry %d is not the page at %d (depth %d of %d)", k, i, p.depth, s.depth)
			}
		}
		n := 0
		for _, c := range p.slots {
			if c != nil {
				n++
				if h := setHash(c.id); h>>(64-uint(s.depth))>>(s.depth-p.depth) != uint64(i)>>(s.depth-p.depth) {
					t.Fatalf("entry %d in the wrong page", c.id)
				}
			}
		}
		if n != int(p.n) || n > setFull {
			t.Fatalf("page at %d counts %d, holds %d", i, p.n, n)
		}
		i += w
	}
}

// TestConnSetLoad checks that a registry shard's IDs (every 32nd) fill
// the pages as the hash promises: no garbage-free growth is worth a set
// twice the size.
func TestConnSetLoad(t *testing.T) {
	var s connSet
	const n = 10000
	for i := range n {
		s.add(&Conn{id: uint64(32*i + 7)})
	}
	checkPages(t, &s)
	pages := 0
	for i := 0; i < len(s.dir); i += 1 << (s.depth - s.dir[i].depth) {
		pages++
	}
	if load := float64(n) / float64(pages*setSlots); load < 0.45 {
		t.Fatalf("%d entries in %d pages: load %.2f", n, pages, load)
	} else {
		t.Logf("%d entries in %d pages (%d directory entries): load %.2f, %.1f bytes an entry", n, pages, len(s.dir), load, float64(pages*512+len(s.dir)*8)/n)
	}
}

// TestConnSize guards the size of Conn, most of an idle connection's
// memory (docs/ARCHITECTURE.md, "Memory per connection"): 240 bytes is a Go
// size class, and one field more moves it to the next (256).
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the budget is for 64-bit platforms")
	}
	if n := unsafe.Sizeof(Conn{}); n > 240 {
		t.Fatalf("Conn is %d bytes; the budget is 240", n)
	}
}
