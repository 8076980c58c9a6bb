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
		mu sync.Mutex
		m  map[uint64]*Conn
		_  [40]byte // one shard per cache line
	}
}

func (r *registry) init() {
	for i := range r.shards {
		r.shards[i].m = make(map[uint64]*Conn)
	}
}

func (r *registry) add(c *Conn) {
	sh := &r.shards[c.id%registryShards]
	sh.mu.Lock()
	sh.m[c.id] = c
	sh.mu.Unlock()
	r.count.Add(1)
}

func (r *registry) remove(c *Conn) {
	sh := &r.shards[c.id%registryShards]
	sh.mu.Lock()
	delete(sh.m, c.id)
	sh.mu.Unlock()
	r.count.Add(-1)
}

func (r *registry) get(id uint64) (*Conn, bool) {
	sh := &r.shards[id%registryShards]
	sh.mu.Lock()
	c, ok := sh.m[id]
	sh.mu.Unlock()
	return c, ok
}

func (r *registry) forEach(fn func(*Conn) bool) {
	var snap []*Conn
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		snap = snap[:0]
		for _, c := range sh.m {
			snap = append(snap, c)
		}
		sh.mu.Unlock()
		for _, c := range snap {
			if !fn(c) {
				return
			}
		}
	}
}
