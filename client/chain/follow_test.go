package chain_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/chain/chaintest"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heightReader follows the fake chain's height.
func heightReader(f *chaintest.Chain, reads *atomic.Int64) func(context.Context) (*int64, int64, error) {
	return func(ctx context.Context) (*int64, int64, error) {
		reads.Add(1)
		h, err := f.Height(ctx)
		if err != nil {
			return nil, 0, err
		}
		return &h, h, nil
	}
}

func TestFollowerFollowsBlocksAndPolls(t *testing.T) {
	f := chaintest.New(subnettypes.Subnet{Netuid: 1}, 10)
	var reads atomic.Int64
	var updates, failures atomic.Int64
	fl := chain.NewFollower(f, heightReader(f, &reads), chain.FollowOptions[int64]{
		Poll:     time.Hour,
		OnUpdate: func(*int64) { updates.Add(1) },
		OnError:  func(error) { failures.Add(1) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := fl.Updated()
	go fl.Run(ctx)
	if v, err := fl.WaitFirst(ctx); err != nil || *v != 10 {
		t.Fatalf("first value %v, %v", v, err)
	}
	<-first
	sub := fl.Subscribe()

	// A block brings a read.
	f.Advance(1)
	waitUntil(t, "height 11", func() bool { return *fl.Current() == 11 })
	select {
	case <-sub:
	case <-time.After(time.Second):
		t.Fatal("no update signal")
	}

	// Reads fail: the last value stays, the error is reported.
	f.Update(func(s *chaintest.State) { s.Down = true })
	f.Advance(1)
	waitUntil(t, "a failed read", func() bool { return failures.Load() > 0 })
	if *fl.Current() != 11 || !errors.Is(fl.LastError(), chaintest.ErrDown) {
		t.Fatalf("current %d, last error %v", *fl.Current(), fl.LastError())
	}
	f.Update(func(s *chaintest.State) { s.Down = false })
	f.Advance(1)
	waitUntil(t, "recovery", func() bool { return *fl.Current() == 13 })
	if fl.LastError() != nil {
		t.Fatalf("last error after a success: %v", fl.LastError())
	}
}

func TestFollowerPollsWithoutBlocks(t *testing.T) {
	f := chaintest.New(subnettypes.Subnet{Netuid: 1}, 10)
	var reads atomic.Int64
	fl := chain.NewFollower(f, heightReader(f, &reads), chain.FollowOptions[int64]{Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go fl.Run(ctx)
	waitUntil(t, "first value", func() bool { return fl.Current() != nil })
	f.Update(func(s *chaintest.State) { s.Height = 15 }) // no block announced
	waitUntil(t, "poll sees 15", func() bool { return *fl.Current() == 15 })
}

func TestFollowerNeverStepsBack(t *testing.T) {
	f := chaintest.New(subnettypes.Subnet{Netuid: 1}, 10)
	height := int64(20)
	read := func(context.Context) (*int64, int64, error) {
		h := height
		return &h, h, nil
	}
	fl := chain.NewFollower(f, read, chain.FollowOptions[int64]{})
	if _, err := fl.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	height = 19 // a lagging node
	v, err := fl.Refresh(context.Background())
	if err != nil || *v != 20 || *fl.Current() != 20 {
		t.Fatalf("stepped back: %v %v", v, err)
	}
}

func TestFollowerCoalescesQueuedBlocks(t *testing.T) {
	f := chaintest.New(subnettypes.Subnet{Netuid: 1}, 10)
	var reads atomic.Int64
	gate := make(chan struct{})
	slow := func(ctx context.Context) (*int64, int64, error) {
		if reads.Add(1) == 2 {
			<-gate // the first block's read is slow; more blocks queue up
		}
		h, err := f.Height(ctx)
		return &h, h, err
	}
	fl := chain.NewFollower(f, slow, chain.FollowOptions[int64]{Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go fl.Run(ctx)
	waitUntil(t, "first value", func() bool { return fl.Current() != nil })
	f.Advance(1)
	waitUntil(t, "the slow read", func() bool { return reads.Load() == 2 })
	for range 5 {
		f.Advance(1)
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	waitUntil(t, "height 16", func() bool { return *fl.Current() == 16 })
	if n := reads.Load(); n > 4 {
		t.Fatalf("%d reads for 6 blocks; queued blocks were not coalesced", n)
	}
}

func TestFollowerWaitFirstReportsLastError(t *testing.T) {
	f := chaintest.New(subnettypes.Subnet{Netuid: 1}, 10)
	f.Update(func(s *chaintest.State) { s.Down = true })
	var reads atomic.Int64
	fl := chain.NewFollower(f, heightReader(f, &reads), chain.FollowOptions[int64]{Poll: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go fl.Run(ctx)
	_, err := fl.WaitFirst(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, chaintest.ErrDown) {
		t.Fatalf("got %v", err)
	}
}
