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
		_   [24]byte // one shard per cache line
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
		sh.set.all(func(c *Conn) {
			c.pin() // not reused while fn may use it (connpool.go)
			snap = append(snap, c)
		})
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

// connSet is a hash set of connections keyed by ID that grows without
// copying: extendible hashing over pages of 63 entries (512 bytes, a size
// class), each an open-addressing table with linear probing. A directory
// of 2^depth page pointers, indexed by the top bits of the ID's hash, finds
// the page; a page that fills splits in two on the next bit of the hash,
// and only the directory, a pointer per page, is ever copied to grow.
// An entry costs 8 bytes over a page load of 3/8 to 3/4, as in an array
// that doubles, but the doubling array left each old array behind, freed:
// at tens of thousands of idle connections that was another 13 bytes of
// RSS per connection, which the collector's headroom kept resident.
type connSet struct {
	dir   []*setPage // by the top depth bits of the hash; a page with local depth d fills 2^(depth-d) aligned entries
	n     int32
	depth uint8
}

const (
	setSlots = 63 // entries in a page: with its header, 512 bytes
	setFull  = 48 // a page holding this many splits before it takes more
)

type setPage struct {
	slots [setSlots]*Conn
	n     uint16
	depth uint8 // local depth: the page holds the hashes whose top depth bits are its own
}

func setHash(id uint64) uint64 { return id * 0x9e3779b97f4a7c15 }

// home is where a hash starts its probe in a page: bits below those the
// directory uses.
func home(h uint64) int { return int(uint32(h>>24) % setSlots) }

func nextSlot(i int) int {
	if i++; i == setSlots {
		return 0
	}
	return i
}

// page returns the page that holds hash h; the set must not be empty.
func (s *connSet) page(h uint64) *setPage { return s.dir[h>>(64-uint(s.depth))] }

func (s *connSet) add(c *Conn) {
	if s.dir == nil {
		s.dir = []*setPage{new(setPage)}
	}
	h := setHash(c.id)
	p := s.page(h)
	for int(p.n) >= setFull {
		s.split(p, h)
		p = s.page(h)
	}
	p.put(c, h)
	s.n++
}

func (p *setPage) put(c *Conn, h uint64) {
	i := home(h)
	for p.slots[i] != nil {
		i = nextSlot(i)
	}
	p.slots[i] = c
	p.n++
}

// split moves the entries of p (the page of hash h) whose next hash bit is
// 1 to a new page, doubling the directory first if p already uses all of
// its bits.
func (s *connSet) split(p *setPage, h uint64) {
	if p.depth == s.depth {
		dir := make([]*setPage, 2*len(s.dir))
		for i, q := range s.dir {
			dir[2*i], dir[2*i+1] = q, q
		}
		s.dir = dir
		s.depth++
	}
	d := uint(p.depth) // bits p uses; the split uses the next one
	q := &setPage{depth: p.depth + 1}
	p.depth++
	// p's directory entries: 2^(depth-d) of them, from its prefix on; q
	// takes the upper half.
	width := 1 << (uint(s.depth) - d)
	first := int(h>>(64-d)) << (uint(s.depth) - d) // h>>64 is 0
	for i := first + width/2; i < first+width; i++ {
		s.dir[i] = q
	}
	old := p.slots
	p.slots, p.n = [setSlots]*Conn{}, 0
	bit := uint64(1) << (63 - d)
	for _, c := range old {
		if c == nil {
			continue
		}
		if ch := setHash(c.id); ch&bit != 0 {
			q.put(c, ch)
		} else {
			p.put(c, ch)
		}
	}
}

// find returns the page holding id and its index there, or -1.
func (s *connSet) find(id uint64) (*setPage, int) {
	if s.dir == nil {
		return nil, -1
	}
	h := setHash(id)
	p := s.page(h)
	for i := home(h); p.slots[i] != nil; i = nextSlot(i) {
		if p.slots[i].id == id {
			return p, i
		}
	}
	return p, -1
}

func (s *connSet) get(id uint64) *Conn {
	if p, i := s.find(id); i >= 0 {
		return p.slots[i]
	}
	return nil
}

// remove deletes id and shifts back the entries of its probe run that
// would no longer be found past the hole (no tombstones). Pages never
// merge: like the array it replaced, the set keeps what its peak needed.
func (s *connSet) remove(id uint64) {
	p, i := s.find(id)
	if i < 0 {
		return
	}
	p.slots[i] = nil
	p.n--
	s.n--
	for j := nextSlot(i); p.slots[j] != nil; j = nextSlot(j) {
		h := home(setHash(p.slots[j].id))
		// The entry at j may move to the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j)) {
			p.slots[i], p.slots[j] = p.slots[j], nil
			i = j
		}
	}
}

// all calls fn on each entry.
func (s *connSet) all(fn func(*Conn)) {
	for i := 0; i < len(s.dir); {
		p := s.dir[i]
		for _, c := range p.slots {
			if c != nil {
				fn(c)
			}
		}
		i += 1 << (s.depth - p.depth)
	}
}
