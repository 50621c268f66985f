package transport

import (
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

var (
	errReplay    = errors.New("nonce already used")
	errCacheFull = errors.New("nonce cache full")
)

const nonceShards = 16

// nonceCache remembers (signer, nonce) pairs until they expire. Memory is
// bounded by max entries; when full of unexpired entries it refuses new
// ones rather than forgetting old ones, since forgetting would let a
// still-fresh request be replayed. Shards keep concurrent requests from
// serialising on one lock; the shard is picked with a per-process random
// seed so callers cannot aim all their nonces at one shard.
type nonceCache struct {
	ttl      time.Duration
	perShard int
	seed     maphash.Seed
	shards   [nonceShards]nonceShard
}

type nonceShard struct {
	mu    sync.Mutex
	seen  map[string]int64 // key -> expiry, unix nanos
	queue []nonceEntry     // insertion order, which is expiry order while the clock runs forward
	head  int
}

type nonceEntry struct {
	key    string
	expiry int64
}

func newNonceCache(ttl time.Duration, max int) *nonceCache {
	per := max / nonceShards
	if per < 1 {
		per = 1
	}
	c := &nonceCache{ttl: ttl, perShard: per, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].seen = make(map[string]int64)
	}
	return c
}

// add records key at now, or fails with errReplay if it is already there
// and unexpired, or errCacheFull.
func (c *nonceCache) add(key string, now time.Time) error {
	s := &c.shards[maphash.String(c.seed, key)%nonceShards]
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()

	s.expire(t)
	if exp, ok := s.seen[key]; ok && exp > t {
		return errReplay
	}
	if len(s.seen) >= c.perShard {
		return errCacheFull
	}
	exp := t + int64(c.ttl)
	s.seen[key] = exp
	s.queue = append(s.queue, nonceEntry{key: key, expiry: exp})
	return nil
}

// expire drops entries from the front of the queue; it stops at the first
// live one, so its cost is proportional to what it frees.
func (s *nonceShard) expire(now int64) {
	for s.head < len(s.queue) && s.queue[s.head].expiry <= now {
		e := s.queue[s.head]
		// The map may hold a newer expiry for the key if an expired entry
		// was overwritten; only drop it if this queue entry is the current one.
		if s.seen[e.key] == e.expiry {
			delete(s.seen, e.key)
		}
		s.queue[s.head] = nonceEntry{}
		s.head++
	}
	// Compact once the consumed prefix dominates, keeping appends amortised O(1).
	if s.head > 64 && s.head*2 >= len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

func (c *nonceCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.seen)
		s.mu.Unlock()
	}
	return n
}
