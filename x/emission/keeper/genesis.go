package keeper

import (
	"context"

	"cosmossdk.io/collections"

	"github.com/meritnet/merit/x/emission/types"
)

// InitGenesis writes a validated genesis state to the store.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	if err := k.TotalIssued.Set(ctx, gs.TotalIssued); err != nil {
		return err
	}
	if err := k.Carry.Set(ctx, gs.Carry); err != nil {
		return err
	}
	if !gs.RevenueBurned.IsNil() {
		if err := k.RevenueBurned.Set(ctx, gs.RevenueBurned); err != nil {
			return err
		}
	}
	for _, se := range gs.Subnets {
		se.FillZero()
		if err := k.Subnets.Set(ctx, se.Netuid, se); err != nil {
			return err
		}
	}
	for _, h := range gs.History {
		if err := k.History.Set(ctx, collections.Join3(h.Netuid, h.Record.Epoch, h.Uid), h.Record); err != nil {
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
	if gs.TotalIssued, err = k.GetTotalIssued(ctx); err != nil {
		return nil, err
	}
	if gs.Carry, err = k.intItem(ctx, k.Carry); err != nil {
		return nil, err
	}
	if gs.RevenueBurned, err = k.intItem(ctx, k.RevenueBurned); err != nil {
		return nil, err
	}
	if err := k.Subnets.Walk(ctx, nil, func(_ uint32, se types.SubnetEmission) (bool, error) {
		gs.Subnets = append(gs.Subnets, se)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.History.Walk(ctx, nil, func(key collections.Triple[uint32, uint64, uint32], rec types.NeuronEmission) (bool, error) {
		gs.History = append(gs.History, types.GenesisHistory{Netuid: key.K1(), Uid: key.K3(), Record: rec})
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
