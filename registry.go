package proactor

import (
	"sync"
	"sync/atomic"
)

const registryShards = 32

// registry maps connection IDs to connections, sharded by ID so that loops
// opening and closing connections rarely contend on one lock.
type registry struct {
	count  atomic.Int64
	shards [registryShards]struct {
		mu  sync.Mutex
		set connSet
		_   [32]byte // one shard per cache line
	}
}

func (r *registry) add(c *Conn) {
	sh := &r.shards[c.id%registryShards]
	sh.mu.Lock()
	sh.set.add(c)
	sh.mu.Unlock()
	r.count.Add(1)
}

func (r *registry) remove(c *Conn) {
	sh := &r.shards[c.id%registryShards]
	sh.mu.Lock()
	sh.set.remove(c.id)
	sh.mu.Unlock()
	r.count.Add(-1)
}

func (r *registry) get(id uint64) (*Conn, bool) {
	sh := &r.shards[id%registryShards]
	sh.mu.Lock()
	c := sh.set.get(id)
	if c != nil {
		c.pin() // the caller releases it
	}
	sh.mu.Unlock()
	return c, c != nil
}

func (r *registry) forEach(fn func(*Conn) bool) {
	var snap []*Conn
	next := 0 // snap[next:] are pinned still
	// Given back on the way out: when fn stops the walk, and when it
	// panics (a caller may recover), which would otherwise keep them out
	// of the pool for good.
	defer func() {
		for _, c := range snap[next:] {
			c.Release()
		}
	}()
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		snap, next = snap[:0], 0
		for _, c := range sh.set.slots {
			if c != nil {
				c.pin() // not reused while fn may use it (connpool.go)
				snap = append(snap, c)
			}
		}
		sh.mu.Unlock()
		for next < len(snap) {
			c := snap[next]
			more := fn(c)
			next++
			c.Release()
			if !more {
				return
			}
		}
	}
}

// connSet is a hash set of connections keyed by ID: open addressing with
// linear probing in a power-of-two array of pointers, so an entry costs 8
// bytes over a load of 3/8 to 3/4 — a third of a Go map's, which matters
// at tens of thousands of idle connections.
type connSet struct {
	slots []*Conn
	n     int
}

func (s *connSet) home(id uint64) int {
	return int((id * 0x9e3779b97f4a7c15) >> 32 & uint64(len(s.slots)-1))
}

func (s *connSet) add(c *Conn) {
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	s.put(c)
	s.n++
}

func (s *connSet) put(c *Conn) {
	mask := len(s.slots) - 1
	i := s.home(c.id)
	for s.slots[i] != nil {
		i = (i + 1) & mask
	}
	s.slots[i] = c
}

func (s *connSet) grow() {
	old := s.slots
	s.slots = make([]*Conn, max(16, 2*len(old)))
	for _, c := range old {
		if c != nil {
			s.put(c)
		}
	}
}

func (s *connSet) find(id uint64) int {
	if len(s.slots) == 0 {
		return -1
	}
	mask := len(s.slots) - 1
	for i := s.home(id); s.slots[i] != nil; i = (i + 1) & mask {
		if s.slots[i].id == id {
			return i
		}
	}
	return -1
}

func (s *connSet) get(id uint64) *Conn {
	if i := s.find(id); i >= 0 {
		return s.slots[i]
	}
	return nil
}

// remove deletes id and shifts back the entries of its probe run that
// would no longer be found past the hole (no tombstones).
func (s *connSet) remove(id uint64) {
	i := s.find(id)
	if i < 0 {
		return
	}
	mask := len(s.slots) - 1
	s.slots[i] = nil
	s.n--
	for j := (i + 1) & mask; s.slots[j] != nil; j = (j + 1) & mask {
		h := s.home(s.slots[j].id)
		// The entry at j may move to the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j)) {
			s.slots[i], s.slots[j] = s.slots[j], nil
			i = j
		}
	}
}
