package keeper_test

import (
	"fmt"
	"strings"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var addr = keepertest.Addr

// net is a subnet with two staked validators (v0 60%, v1 40%) and three
// miners, past its first epoch so the validators hold permits.
type net struct {
	f      *keepertest.Fixture
	netuid uint32
	owner  sdk.AccAddress
	vals   []sdk.AccAddress
	miners []sdk.AccAddress
}

func newNet(t *testing.T, commitReveal bool, edit func(*subnettypes.Hyperparams)) *net {
	f := keepertest.New(t)
	n := &net{f: f, owner: addr("owner")}
	n.netuid = f.CreateSubnet(n.owner, func(h *subnettypes.Hyperparams) {
		h.Tempo, h.WeightsRateLimit, h.CommitRevealEnabled, h.ImmunityPeriod = 10, 2, commitReveal, 5
		h.MinAllowedWeights = 1
		if edit != nil {
			edit(h)
		}
	})
	for i, stake := range []int64{60_000, 40_000} {
		v := addr(fmt.Sprintf("val%d", i))
		f.MustRegister(n.netuid, v, n.owner)
		f.Fund(n.owner, stake)
		if err := f.AddStake(n.netuid, v, n.owner, stake); err != nil {
			t.Fatal(err)
		}
		n.vals = append(n.vals, v)
	}
	for i := 0; i < 3; i++ {
		m := addr(fmt.Sprintf("miner%d", i))
		f.MustRegister(n.netuid, m, n.owner)
		n.miners = append(n.miners, m)
	}
	n.nextEpoch()
	return n
}

// nextEpoch advances to the block right after the subnet's next epoch.
func (n *net) nextEpoch() {
	st, _ := n.f.ScoringQuery.EpochState(n.f.Ctx, &types.QueryEpochStateRequest{Netuid: n.netuid})
	n.f.AdvanceTo(st.NextEpochBlock)
	n.f.Advance(1)
}

func (n *net) setWeights(v int, uids, weights []uint32) error {
	return n.f.Run(func(ctx sdk.Context) error {
		_, err := n.f.ScoringMsg.SetWeights(ctx, &types.MsgSetWeights{Hotkey: n.vals[v].String(), Netuid: n.netuid, Uids: uids, Weights: weights})
		return err
	})
}

func (n *net) neuron(uid uint32) subnettypes.Neuron {
	nr, err := n.f.Subnet.GetNeuron(n.f.Ctx, n.netuid, uid)
	if err != nil {
		n.f.T.Fatal(err)
	}
	return nr
}

func TestSetWeightsChecks(t *testing.T) {
	n := newNet(t, false, func(h *subnettypes.Hyperparams) {
		h.MinAllowedWeights, h.MaxWeightLimit, h.WeightsVersionKey = 2, 50_000, 3
	})
	f := n.f
	if !n.neuron(0).ValidatorPermit || !n.neuron(1).ValidatorPermit || n.neuron(2).ValidatorPermit {
		t.Fatal("permits after the first epoch should go to the two staked validators only")
	}
	set := func(hotkey sdk.AccAddress, uids, w []uint32, version uint64) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.ScoringMsg.SetWeights(ctx, &types.MsgSetWeights{Hotkey: hotkey.String(), Netuid: n.netuid, Uids: uids, Weights: w, VersionKey: version})
			return err
		})
	}
	v := n.vals[0]
	cases := []struct {
		name      string
		hotkey    sdk.AccAddress
		uids, w   []uint32
		version   uint64
		wantError error
	}{
		{"no permit", n.miners[0], []uint32{2, 3}, []uint32{1, 1}, 3, types.ErrNoPermit},
		{"unregistered", addr("stranger"), []uint32{2, 3}, []uint32{1, 1}, 3, subnettypes.ErrNeuronNotFound},
		{"old version key", v, []uint32{2, 3}, []uint32{1, 1}, 2, types.ErrVersionKey},
		{"length mismatch", v, []uint32{2, 3}, []uint32{1}, 3, types.ErrInvalidWeights},
		{"duplicate uid", v, []uint32{2, 2}, []uint32{1, 1}, 3, types.ErrInvalidWeights},
		{"uid does not exist", v, []uint32{2, 9}, []uint32{1, 1}, 3, types.ErrInvalidWeights},
		{"too few weights", v, []uint32{2}, []uint32{1}, 3, types.ErrInvalidWeights},
		{"value above u16", v, []uint32{2, 3}, []uint32{70_000, 1}, 3, types.ErrInvalidWeights},
		{"all zero", v, []uint32{2, 3}, []uint32{0, 0}, 3, types.ErrInvalidWeights},
		{"above max weight limit", v, []uint32{2, 3}, []uint32{65535, 1}, 3, types.ErrInvalidWeights},
	}
	for _, c := range cases {
		err := set(c.hotkey, c.uids, c.w, c.version)
		if err == nil || !strings.Contains(err.Error(), c.wantError.Error()) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.wantError)
		}
	}
	if row, _ := f.ScoringQuery.Weights(f.Ctx, &types.QueryWeightsRequest{Netuid: n.netuid, Uid: 0}); len(row.Weights.Uids) != 0 {
		t.Fatal("rejected weights were stored")
	}
	// Valid: stored sorted by uid and max-upscaled.
	if err := set(v, []uint32{4, 2, 3}, []uint32{100, 200, 0}, 3); err != nil {
		t.Fatal(err)
	}
	row, _ := f.ScoringQuery.Weights(f.Ctx, &types.QueryWeightsRequest{Netuid: n.netuid, Uid: 0})
	if got := fmt.Sprint(row.Weights.Uids, row.Weights.Values); got != "[2 4] [65535 32767]" {
		t.Fatalf("stored row %s", got)
	}
	if n.neuron(0).LastUpdate != f.Ctx.BlockHeight() {
		t.Fatal("last_update not set")
	}
	keepertest.ExpectErr(t, set(v, []uint32{2, 3}, []uint32{1, 1}, 3), types.ErrRateLimited)
	f.Advance(2)
	if err := set(v, []uint32{2, 3}, []uint32{1, 1}, 3); err != nil {
		t.Fatalf("after the rate limit: %v", err)
	}
	// Commit-reveal off: commits are refused.
	err := f.Run(func(ctx sdk.Context) error {
		_, err := f.ScoringMsg.CommitWeights(ctx, &types.MsgCommitWeights{Hotkey: v.String(), Netuid: n.netuid, CommitHash: make([]byte, 32)})
		return err
	})
	keepertest.ExpectErr(t, err, types.ErrCommitRevealOff)
}

func TestEpochTwoValidatorsThreeMiners(t *testing.T) {
	n := newNet(t, false, nil)
	// Both value miner 2 most; the minority validator also pushes miner 4.
	if err := n.setWeights(0, []uint32{2, 3}, []uint32{65535, 30000}); err != nil {
		t.Fatal(err)
	}
	if err := n.setWeights(1, []uint32{2, 3, 4}, []uint32{65535, 30000, 65535}); err != nil {
		t.Fatal(err)
	}
	n.nextEpoch()
	m2, m3, m4 := n.neuron(2), n.neuron(3), n.neuron(4)
	if m2.Incentive == 0 || m3.Incentive == 0 || m2.Incentive <= m3.Incentive {
		t.Fatalf("incentive m2=%d m3=%d, want m2 > m3 > 0", m2.Incentive, m3.Incentive)
	}
	if m4.Incentive != 0 || m4.Consensus != 0 {
		t.Fatalf("the minority validator lifted miner 4: consensus %d incentive %d", m4.Consensus, m4.Incentive)
	}
	if m2.Consensus == 0 {
		t.Fatal("no consensus for miner 2")
	}
	v0, v1 := n.neuron(0), n.neuron(1)
	if v0.Dividends == 0 || v1.Dividends == 0 || v0.Dividends <= v1.Dividends {
		t.Fatalf("dividends v0=%d v1=%d, want both > 0 and v0 (more stake) > v1", v0.Dividends, v1.Dividends)
	}
	if v1.ValidatorTrust >= v0.ValidatorTrust {
		t.Fatalf("validator trust v0=%d v1=%d: the clipped validator should trust less", v0.ValidatorTrust, v1.ValidatorTrust)
	}
	bonds, _ := n.f.ScoringQuery.Bonds(n.f.Ctx, &types.QueryBondsRequest{Netuid: n.netuid, Uid: 0})
	if len(bonds.Bonds.Uids) == 0 {
		t.Fatal("no bonds after an epoch with weights")
	}
	mg, _ := n.f.Subnet.Metagraph(n.f.Ctx, n.netuid)
	if mg.Neurons[2].Neuron.Incentive != m2.Incentive {
		t.Fatal("metagraph does not show the epoch results")
	}
}

func TestWeightsTowardReplacedMinerAreMasked(t *testing.T) {
	n := newNet(t, false, func(h *subnettypes.Hyperparams) { h.MaxUids, h.MaxValidators = 5, 5 })
	if err := n.setWeights(0, []uint32{2, 3}, []uint32{65535, 65535}); err != nil {
		t.Fatal(err)
	}
	if err := n.setWeights(1, []uint32{2, 3}, []uint32{65535, 65535}); err != nil {
		t.Fatal(err)
	}
	n.nextEpoch()
	// Make UID 3 (weighted by both validators) the weakest so a newcomer
	// takes its UID while the validators' weights still point at it.
	for uid := uint32(0); uid < 5; uid++ {
		nr := n.neuron(uid)
		nr.LastEmission = nr.LastEmission.SubRaw(nr.LastEmission.Int64()).AddRaw(100)
		if uid == 3 {
			nr.LastEmission = nr.LastEmission.SubRaw(100)
		}
		if err := n.f.Subnet.SetNeuron(n.f.Ctx, n.netuid, nr); err != nil {
			t.Fatal(err)
		}
	}
	res, err := n.f.Register(n.netuid, addr("newcomer"), n.owner)
	if err != nil || res.Uid != 3 {
		t.Fatalf("newcomer took uid %v (%v), want 3", res, err)
	}
	n.nextEpoch()
	if inc := n.neuron(3).Incentive; inc != 0 {
		t.Fatalf("newcomer inherited weights set before it registered: incentive %d", inc)
	}
	if n.neuron(2).Incentive == 0 {
		t.Fatal("miner 2 lost its incentive")
	}
}

func TestEpochsDeferredNotLost(t *testing.T) {
	f := keepertest.New(t)
	p := types.DefaultParams()
	p.MaxEpochsPerBlock = 1
	if _, err := f.ScoringMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	owner := addr("owner")
	var nets []uint32
	for i := 0; i < 3; i++ {
		nets = append(nets, f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) { h.Tempo = 6 }))
	}
	// netuids 1..3 with tempo 6 are due at blocks b with (b+netuid)%6 == 0: different
	// blocks. Force a pile-up by making all three tempo 1 (due every block).
	for _, nu := range nets {
		f.EditHyperparams(nu, owner, func(h *subnettypes.Hyperparams) { h.Tempo = 1 })
	}
	start := f.Ctx.BlockHeight()
	f.Advance(9)
	total := uint64(0)
	for _, nu := range nets {
		st, _ := f.Scoring.EpochState.Get(f.Ctx, nu)
		total += st.Epoch
	}
	// One epoch per block ran: 9 blocks, 9 epochs, none lost, none doubled.
	if total != 9 {
		t.Fatalf("%d epochs ran in 9 blocks from %d with max 1 per block; want 9", total, start)
	}
	for _, nu := range nets {
		if st, _ := f.Scoring.EpochState.Get(f.Ctx, nu); st.Epoch < 2 {
			t.Fatalf("subnet %d starved: %d epochs", nu, st.Epoch)
		}
	}
}
