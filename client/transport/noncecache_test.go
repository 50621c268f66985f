package transport

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNonceCacheReplayAndExpiry(t *testing.T) {
	c := newNonceCache(time.Minute, 1024)
	t0 := time.Unix(1000, 0)
	if err := c.add("a", t0); err != nil {
		t.Fatal(err)
	}
	if err := c.add("a", t0.Add(time.Minute-time.Nanosecond)); !errors.Is(err, errReplay) {
		t.Fatalf("within TTL: %v", err)
	}
	if err := c.add("b", t0); err != nil {
		t.Fatal(err)
	}
	if err := c.add("a", t0.Add(time.Minute)); err != nil {
		t.Fatalf("after TTL: %v", err)
	}
	if err := c.add("b", t0.Add(time.Minute)); err != nil {
		t.Fatalf("b after TTL: %v", err)
	}
	if c.len() != 2 {
		t.Fatalf("len %d, want 2", c.len())
	}
}

func TestNonceCacheBounded(t *testing.T) {
	const max = nonceShards * 4
	c := newNonceCache(time.Minute, max)
	t0 := time.Unix(1000, 0)
	full := 0
	for i := range 10 * max {
		if err := c.add(fmt.Sprint(i), t0); errors.Is(err, errCacheFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n := c.len(); n != max || full != 9*max {
		t.Fatalf("len %d, refused %d; want %d and %d", n, full, max, 9*max)
	}
	// Steady traffic at a quarter of capacity per TTL, with a moving clock,
	// never fills it and keeps the queues compact. (Shards fill unevenly, so
	// a rate near capacity could be refused in one shard.)
	c = newNonceCache(time.Minute, nonceShards*256)
	now := t0
	for i := range 100 * c.perShard {
		now = now.Add(time.Minute / time.Duration(nonceShards*64))
		if err := c.add(fmt.Sprint("s", i), now); err != nil {
			t.Fatalf("steady add %d: %v", i, err)
		}
	}
	for i := range c.shards {
		s := &c.shards[i]
		if live := len(s.queue) - s.head; live > 2*c.perShard || len(s.queue) > 4*c.perShard+128 {
			t.Fatalf("shard %d queue len %d head %d", i, len(s.queue), s.head)
		}
	}
}

func TestNonceCacheConcurrent(t *testing.T) {
	c := newNonceCache(time.Minute, 1<<16)
	now := time.Unix(1000, 0)
	const keys, workers = 2000, 8
	var wins [keys]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				k := (i + w*97) % keys // workers race over the same keys in different orders
				switch err := c.add(fmt.Sprint("signer/", k), now); {
				case err == nil:
					wins[k].Add(1)
				case !errors.Is(err, errReplay):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for k := range wins {
		if n := wins[k].Load(); n != 1 {
			t.Fatalf("key %d accepted %d times", k, n)
		}
	}
}
