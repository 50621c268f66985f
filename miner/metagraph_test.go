package miner

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/meritnet/merit/client/chain/chaintest"
)

func TestWatcherFollowsBlocksAndSurvivesOutages(t *testing.T) {
	f := newFakeChain(1)
	val := newKeySigner(t).Address()
	core, logs := observer.New(zapcore.InfoLevel)
	metrics := NewMetrics()
	w := NewWatcher(WatcherConfig{Chain: f, Netuid: 1, Self: "me", Poll: time.Hour, Logger: zap.New(core), Metrics: metrics})
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.Current().Self != nil || len(w.Current().Permitted) != 0 {
		t.Fatal("empty subnet has neurons")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	updates := w.Subscribe()

	// A new block brings the new permit.
	f.AddNeuron(val, 500, true)
	f.Advance(1)
	waitFor(t, 5*time.Second, "permit seen", func() bool { _, ok := w.Current().Permitted[val]; return ok })
	select {
	case <-updates:
	case <-time.After(time.Second):
		t.Error("no update signal")
	}

	// The chain goes away: the last good copy stays, one warning is logged
	// however many refreshes fail.
	good := w.Current()
	f.Update(func(s *chaintest.State) { s.Down = true })
	for range 3 {
		f.Advance(1)
		time.Sleep(30 * time.Millisecond)
	}
	if w.Current() != good {
		t.Error("snapshot replaced while the chain is down")
	}
	waitFor(t, 5*time.Second, "failures counted", func() bool {
		return metricValue(t, metrics, "merit_miner_metagraph_refresh_failures_total", nil) >= 3
	})
	if n := logs.FilterMessage("metagraph refresh failed; keeping the last good copy").Len(); n != 1 {
		t.Errorf("%d outage warnings, want 1", n)
	}
	f.Update(func(s *chaintest.State) { s.Down = false })
	f.Advance(1)
	waitFor(t, 5*time.Second, "recovery", func() bool { return w.Current().Block > good.Block })
	if logs.FilterMessage("metagraph refresh works again").Len() != 1 {
		t.Error("recovery not logged")
	}
	if metricValue(t, metrics, "merit_miner_permitted_validators", nil) != 1 {
		t.Error("permitted gauge")
	}
}

func TestWatcherPollsWithoutBlocks(t *testing.T) {
	f := newFakeChain(1)
	w := NewWatcher(WatcherConfig{Chain: f, Netuid: 1, Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	waitFor(t, 5*time.Second, "first poll", func() bool { return w.Current() != nil })
	f.Update(func(s *chaintest.State) { s.Height += 5 }) // blocks the stream never announced
	waitFor(t, 5*time.Second, "poll sees height", func() bool { return w.Current().Block == 15 })
}
