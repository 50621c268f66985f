package keeper_test

import (
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func (n *net) commit(v int, uids, weights []uint32, salt []byte) (*types.MsgCommitWeightsResponse, error) {
	hash := types.CommitHash(n.vals[v], n.netuid, uids, weights, salt, 0)
	var res *types.MsgCommitWeightsResponse
	err := n.f.Run(func(ctx sdk.Context) (err error) {
		res, err = n.f.ScoringMsg.CommitWeights(ctx, &types.MsgCommitWeights{Hotkey: n.vals[v].String(), Netuid: n.netuid, CommitHash: hash})
		return err
	})
	return res, err
}

func (n *net) reveal(v int, uids, weights []uint32, salt []byte) error {
	return n.f.Run(func(ctx sdk.Context) error {
		_, err := n.f.ScoringMsg.RevealWeights(ctx, &types.MsgRevealWeights{Hotkey: n.vals[v].String(), Netuid: n.netuid, Uids: uids, Weights: weights, Salt: salt})
		return err
	})
}

func TestCommitRevealWindow(t *testing.T) {
	n := newNet(t, true, nil)
	f := n.f
	uids, w, salt := []uint32{2, 3}, []uint32{65535, 20000}, []byte("pepper")

	// Direct weights are refused while commit-reveal is on.
	keepertest.ExpectErr(t, n.setWeights(0, uids, w), types.ErrCommitRevealOn)
	// A malformed hash is refused.
	err := f.Run(func(ctx sdk.Context) error {
		_, err := f.ScoringMsg.CommitWeights(ctx, &types.MsgCommitWeights{Hotkey: n.vals[0].String(), Netuid: n.netuid, CommitHash: []byte{1, 2}})
		return err
	})
	keepertest.ExpectErr(t, err, types.ErrInvalidCommit)

	res, err := n.commit(0, uids, w, salt)
	if err != nil {
		t.Fatal(err)
	}
	if res.RevealFrom <= f.Ctx.BlockHeight() || res.RevealUntil < res.RevealFrom {
		t.Fatalf("reveal window [%d, %d] at block %d", res.RevealFrom, res.RevealUntil, f.Ctx.BlockHeight())
	}
	// Too early: still in the commit's own epoch.
	keepertest.ExpectErr(t, n.reveal(0, uids, w, salt), types.ErrRevealWindow)
	f.AdvanceTo(res.RevealFrom)
	// Wrong salt or tampered weights match no commit.
	keepertest.ExpectErr(t, n.reveal(0, uids, w, []byte("salt")), types.ErrNoMatchingCommit)
	keepertest.ExpectErr(t, n.reveal(0, uids, []uint32{65535, 20001}, salt), types.ErrNoMatchingCommit)
	if row, _ := f.ScoringQuery.Weights(f.Ctx, &types.QueryWeightsRequest{Netuid: n.netuid, Uid: 0}); len(row.Weights.Uids) != 0 {
		t.Fatal("weights counted before their reveal")
	}
	if err := n.reveal(0, uids, w, salt); err != nil {
		t.Fatalf("reveal in window: %v", err)
	}
	row, _ := f.ScoringQuery.Weights(f.Ctx, &types.QueryWeightsRequest{Netuid: n.netuid, Uid: 0})
	if len(row.Weights.Uids) != 2 || row.Weights.SetAt >= f.Ctx.BlockHeight() {
		t.Fatalf("revealed row %+v should be dated to the commit block", row.Weights)
	}
	// Revealing twice fails: the commit is consumed.
	keepertest.ExpectErr(t, n.reveal(0, uids, w, salt), types.ErrNoMatchingCommit)
	n.nextEpoch()
	if n.neuron(2).Incentive == 0 {
		t.Fatal("revealed weights did not count at the next epoch")
	}
}

func TestCommitExpiresAfterWindow(t *testing.T) {
	n := newNet(t, true, nil)
	uids, w, salt := []uint32{2}, []uint32{1}, []byte("s")
	res, err := n.commit(0, uids, w, salt)
	if err != nil {
		t.Fatal(err)
	}
	n.f.AdvanceTo(res.RevealUntil + 1)
	// The epoch that closed the window dropped the commit.
	keepertest.ExpectErr(t, n.reveal(0, uids, w, salt), types.ErrNoMatchingCommit)
	c, _ := n.f.ScoringQuery.Commits(n.f.Ctx, &types.QueryCommitsRequest{Netuid: n.netuid, Hotkey: n.vals[0].String()})
	if len(c.Commits) != 0 {
		t.Fatalf("expired commit still stored: %v", c.Commits)
	}
}

func TestAtMostTenUnrevealedCommits(t *testing.T) {
	n := newNet(t, true, func(h *subnettypes.Hyperparams) { h.WeightsRateLimit, h.RevealPeriod = 0, 5 })
	for i := 0; i < 10; i++ {
		if _, err := n.commit(0, []uint32{2}, []uint32{uint32(i + 1)}, []byte{byte(i)}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		n.f.Advance(1)
	}
	_, err := n.commit(0, []uint32{2}, []uint32{99}, []byte("x"))
	keepertest.ExpectErr(t, err, types.ErrTooManyCommits)
}
