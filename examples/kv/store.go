package kv

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"time"
)

// numShards is the number of independently locked parts of the store: with
// connections on every loop, two commands contend only when their keys
// hash to the same shard.
const numShards = 256

// Bounds of one periodic sweep, per shard: rounds of sweepSample keys with
// an expiry, another round only while more than a quarter of the sample
// had expired (redis-server's rule), sweepRounds at most.
const (
	sweepSample = 20
	sweepRounds = 4
)

// entry is a key's value and its expiry: the store's clock (nanoseconds
// since the store was made) at which it expires, 0 for never.
type entry struct {
	val    []byte
	expire int64
}

// shard is one part of the store. m and ttl are made on first use, so an
// empty store is small; ttl holds the keys of m that have an expiry, the
// ones the sweep samples (a second copy of such a key: Go cannot hand out
// a map's own key string).
type shard struct {
	mu  sync.Mutex
	m   map[string]*entry
	ttl map[string]struct{}
	_   [40]byte // a cache line per shard: loops lock different shards
}

// store is the key space: string keys to string values, each with an
// optional expiry. Its methods lock; the lookup and update helpers
// (get, put, remove) need the shard's lock held.
type store struct {
	seed   maphash.Seed
	epoch  time.Time
	clock  func() int64 // the tests' clock; nil means time since epoch
	shards [numShards]shard
}

func newStore() *store {
	return &store{seed: maphash.MakeSeed(), epoch: time.Now()}
}

// now is the store's clock, monotonic: a change of the wall clock moves no
// expiry.
func (s *store) now() int64 {
	if s.clock != nil {
		return s.clock()
	}
	return int64(time.Since(s.epoch))
}

func (s *store) shardOf(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % numShards)
}

func (s *store) shard(key []byte) *shard { return &s.shards[s.shardOf(key)] }

// get returns key's entry, or nil if it is missing or expired; an expired
// key is removed then (the lazy half of expiry).
func (s *store) get(sh *shard, key []byte) *entry {
	e := sh.m[string(key)]
	if e != nil && e.expire != 0 && e.expire <= s.now() {
		s.remove(sh, key)
		return nil
	}
	return e
}

// put sets key to a copy of val with the given expiry (0: none), reusing
// the old value's memory when it is large enough.
func (s *store) put(sh *shard, key, val []byte, expire int64) {
	e := sh.m[string(key)]
	if e == nil {
		if sh.m == nil {
			sh.m = make(map[string]*entry)
		}
		e = &entry{}
		sh.m[string(key)] = e
	}
	if cap(e.val) >= len(val) && cap(e.val) <= 2*len(val)+64 {
		e.val = append(e.val[:0], val...)
	} else {
		e.val = append([]byte(nil), val...)
	}
	s.setExpire(sh, key, e, expire)
}

// setExpire sets e's expiry and keeps ttl in step.
func (s *store) setExpire(sh *shard, key []byte, e *entry, expire int64) {
	switch {
	case expire != 0 && e.expire == 0:
		if sh.ttl == nil {
			sh.ttl = make(map[string]struct{})
		}
		sh.ttl[string(key)] = struct{}{}
	case expire == 0 && e.expire != 0:
		delete(sh.ttl, string(key))
	}
	e.expire = expire
}

// remove deletes key and reports whether it was there (expired or not).
func (s *store) remove(sh *shard, key []byte) bool {
	e := sh.m[string(key)]
	if e == nil {
		return false
	}
	if e.expire != 0 {
		delete(sh.ttl, string(key))
	}
	delete(sh.m, string(key))
	return true
}

// shardSet is a set of shard indices, for the commands on several keys,
// which lock all their shards, in index order so that two such commands
// never wait for each other in a cycle.
type shardSet [numShards / 64]uint64

func (s *store) lockKeys(keys [][]byte, stride int) shardSet {
	var set shardSet
	for i := 0; i < len(keys); i += stride {
		n := s.shardOf(keys[i])
		set[n/64] |= 1 << (n % 64)
	}
	set.each(func(n int) { s.shards[n].mu.Lock() })
	return set
}

func (s *store) unlock(set shardSet) {
	set.each(func(n int) { s.shards[n].mu.Unlock() })
}

func (set *shardSet) each(fn func(n int)) {
	for w, word := range set {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(w*64 + b)
			word &= word - 1
		}
	}
}

// size counts the keys, expired ones not yet removed included, as
// redis-server's DBSIZE does.
func (s *store) size() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// flush removes every key.
func (s *store) flush() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.m, sh.ttl = nil, nil
		sh.mu.Unlock()
	}
}

// sweep removes expired keys: per shard, samples of the keys with an expiry
// (map iteration starts at a random place), with a bounded number of
// rounds, so a pass costs at most numShards × sweepRounds × sweepSample
// lookups however many keys there are. It returns the number removed.
func (s *store) sweep() int {
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for range sweepRounds {
			if len(sh.ttl) == 0 {
				break
			}
			now, seen, expired := s.now(), 0, 0
			for k := range sh.ttl {
				if seen++; seen > sweepSample {
					break
				}
				if e := sh.m[k]; e.expire <= now {
					delete(sh.ttl, k)
					delete(sh.m, k)
					expired++
				}
			}
			removed += expired
			if expired*4 <= sweepSample {
				break
			}
		}
		sh.mu.Unlock()
	}
	return removed
}
