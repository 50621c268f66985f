package miner

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/transport"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func TestSnapshotRateFactors(t *testing.T) {
	mg := &subnettypes.QueryMetagraphResponse{Block: 7, Neurons: []subnettypes.MetagraphNeuron{
		{Neuron: subnettypes.Neuron{Hotkey: "big", ValidatorPermit: true}, Stake: sdkmath.NewInt(700)},
		{Neuron: subnettypes.Neuron{Hotkey: "mid", ValidatorPermit: true}, Stake: sdkmath.NewInt(200)},
		{Neuron: subnettypes.Neuron{Hotkey: "small", ValidatorPermit: true}, Stake: sdkmath.NewInt(100)},
		{Neuron: subnettypes.Neuron{Hotkey: "miner"}, Stake: sdkmath.NewInt(5000)}, // no permit: no share
	}}
	s := NewSnapshot(mg, "miner", time.Now())
	// n_permitted × stake / permitted_stake, at least 1.
	for hk, want := range map[string]float64{"big": 2.1, "mid": 1, "small": 1} {
		if got := s.Permitted[hk]; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: factor %v, want %v", hk, got, want)
		}
	}
	if _, ok := s.Permitted["miner"]; ok || s.Self == nil || s.Self.Neuron.Hotkey != "miner" || !s.Registered["miner"] {
		t.Errorf("self/permits wrong: %+v", s)
	}
	// Permits with zero stake still admit at the base rate.
	zero := NewSnapshot(&subnettypes.QueryMetagraphResponse{Neurons: []subnettypes.MetagraphNeuron{
		{Neuron: subnettypes.Neuron{Hotkey: "v", ValidatorPermit: true}, Stake: sdkmath.ZeroInt()},
	}}, "", time.Now())
	if zero.Permitted["v"] != 1 {
		t.Errorf("zero stake factor %v", zero.Permitted["v"])
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestAccessStakeScaledRate(t *testing.T) {
	big, small, friend := newKeySigner(t).Address(), newKeySigner(t).Address(), newKeySigner(t).Address()
	mg := &subnettypes.QueryMetagraphResponse{Block: 3, Neurons: []subnettypes.MetagraphNeuron{
		{Neuron: subnettypes.Neuron{Hotkey: big, ValidatorPermit: true}, Stake: sdkmath.NewInt(900)},
		{Neuron: subnettypes.Neuron{Hotkey: small, ValidatorPermit: true}, Stake: sdkmath.NewInt(100)},
	}}
	clk := &clock{t: time.Unix(1000, 0)}
	src := &StaticMetagraph{NewSnapshot(mg, "", clk.now())}
	acc, err := NewAccess(AccessConfig{Metagraph: src, Allow: []string{friend}, RateLimit: 2, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	admitted := func(who string) int {
		n := 0
		for range 20 {
			if acc.Authorize(context.Background(), who) == nil {
				n++
			}
		}
		return n
	}
	// big: 2 × (2 × 900/1000) = 3.6/s, burst 4; small and the allowlisted
	// friend: the base 2/s, burst 2.
	if got := admitted(big); got != 4 {
		t.Errorf("big validator burst %d, want 4", got)
	}
	if got := admitted(small); got != 2 {
		t.Errorf("small validator burst %d, want 2", got)
	}
	if got := admitted(friend); got != 2 {
		t.Errorf("allowlisted burst %d, want 2", got)
	}
	clk.add(time.Second)
	if got := admitted(big); got != 3 { // 3.6 tokens refilled, 3 whole
		t.Errorf("big after 1 s: %d", got)
	}
	// The refusal picks its own reason and status, and asks to come back.
	admitted(small)
	err = acc.Authorize(context.Background(), small)
	var rej *transport.RejectError
	if !errors.As(err, &rej) || rej.Reason != ReasonRateLimited || rej.HTTPStatus() != 429 || rej.RetryAfter != 1 {
		t.Errorf("refusal %v", err)
	}
	// Stake moves: small becomes the big one at the next snapshot.
	mg.Neurons[0].Stake, mg.Neurons[1].Stake = sdkmath.NewInt(100), sdkmath.NewInt(900)
	src.S = NewSnapshot(mg, "", clk.now())
	admitted(small) // the new rate applies from here; tokens carry over
	clk.add(2 * time.Second)
	if got := admitted(small); got != 4 {
		t.Errorf("small after its stake grew: %d", got)
	}
}

func TestAccessRefusals(t *testing.T) {
	v, other, stray := newKeySigner(t).Address(), newKeySigner(t).Address(), newKeySigner(t).Address()
	acc, _ := NewAccess(AccessConfig{Metagraph: StaticMetagraph{permitGraph(v, other)}, Netuid: 1})
	if err := acc.Authorize(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if err := acc.Authorize(context.Background(), other); err == nil || !contains(err.Error(), "holds no validator permit") {
		t.Errorf("non-permitted: %v", err)
	}
	if err := acc.Authorize(context.Background(), stray); err == nil || !contains(err.Error(), "not registered on subnet 1") {
		t.Errorf("stranger: %v", err)
	}
	// Before any metagraph, only the allowlist gets in.
	empty, _ := NewAccess(AccessConfig{Metagraph: StaticMetagraph{}, Allow: []string{stray}})
	if empty.Authorize(context.Background(), stray) != nil || empty.Authorize(context.Background(), v) == nil {
		t.Error("allowlist without metagraph")
	}
	if _, err := NewAccess(AccessConfig{Allow: []string{"cosmos1xyz"}}); err == nil {
		t.Error("bad allowlist address accepted")
	}
}
