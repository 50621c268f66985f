package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
)

// InitGenesis writes a validated genesis state to the store.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, w := range gs.Weights {
		if err := k.Weights.Set(ctx, collections.Join(w.Netuid, w.Uid), w.Row); err != nil {
			return err
		}
	}
	for _, b := range gs.Bonds {
		if err := k.Bonds.Set(ctx, collections.Join(b.Netuid, b.Uid), b.Row); err != nil {
			return err
		}
	}
	for _, c := range gs.Commits {
		hk, err := k.parseAddr("hotkey", c.Hotkey)
		if err != nil {
			return err
		}
		if err := k.Commits.Set(ctx, collections.Join3(c.Netuid, hk, c.Commit.CommitBlock), c.Commit); err != nil {
			return err
		}
	}
	for _, e := range gs.Epochs {
		if err := k.EpochState.Set(ctx, e.Netuid, e.State); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis reads the whole module state back out, in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	gs := &types.GenesisState{}
	var err error
	if gs.Params, err = k.Params.Get(ctx); err != nil {
		return nil, err
	}
	if err := k.Weights.Walk(ctx, nil, func(key collections.Pair[uint32, uint32], row types.WeightsRow) (bool, error) {
		gs.Weights = append(gs.Weights, types.GenesisWeights{Netuid: key.K1(), Uid: key.K2(), Row: row})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Bonds.Walk(ctx, nil, func(key collections.Pair[uint32, uint32], row types.BondsRow) (bool, error) {
		gs.Bonds = append(gs.Bonds, types.GenesisBonds{Netuid: key.K1(), Uid: key.K2(), Row: row})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Commits.Walk(ctx, nil, func(key collections.Triple[uint32, sdk.AccAddress, int64], c types.WeightCommit) (bool, error) {
		gs.Commits = append(gs.Commits, types.GenesisCommit{Netuid: key.K1(), Hotkey: key.K2().String(), Commit: c})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.EpochState.Walk(ctx, nil, func(netuid uint32, st types.EpochState) (bool, error) {
		gs.Epochs = append(gs.Epochs, types.GenesisEpochState{Netuid: netuid, State: st})
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
