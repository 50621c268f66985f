package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

// InitGenesis writes a validated genesis state to the store, rebuilding the indexes.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	if err := k.NextAccountID.Set(ctx, gs.NextAccountId); err != nil {
		return err
	}
	for _, a := range gs.Accounts {
		payer, err := k.parseAddr("payer", a.Payer)
		if err != nil {
			return err
		}
		if err := k.Accounts.Set(ctx, a.Id, a); err != nil {
			return err
		}
		if err := k.PayerIndex.Set(ctx, collections.Join(payer, a.Id)); err != nil {
			return err
		}
		if err := k.SubnetIndex.Set(ctx, collections.Join(a.Netuid, a.Id)); err != nil {
			return err
		}
		if a.Closing {
			err = k.ClosingQueue.Set(ctx, collections.Join(a.CloseAt, a.Id))
		} else {
			err = k.KeyHashIndex.Set(ctx, a.KeyHash, a.Id)
		}
		if err != nil {
			return err
		}
	}
	for _, s := range gs.Settlements {
		gw, err := k.parseAddr("gateway", s.Gateway)
		if err != nil {
			return err
		}
		if err := k.Settlements.Set(ctx, collections.Join(s.AccountId, gw), s); err != nil {
			return err
		}
	}
	for _, g := range gs.Gateways {
		hk, err := k.parseAddr("hotkey", g.Hotkey)
		if err != nil {
			return err
		}
		if err := k.Gateways.Set(ctx, collections.Join(g.Netuid, hk), g); err != nil {
			return err
		}
	}
	for _, r := range gs.Revenue {
		if err := k.Revenue.Set(ctx, r.Netuid, r); err != nil {
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
	if gs.NextAccountId, err = k.NextAccountID.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.NextAccountId == 0 {
		gs.NextAccountId = 1
	}
	if err := k.Accounts.Walk(ctx, nil, func(_ uint64, a types.Account) (bool, error) {
		gs.Accounts = append(gs.Accounts, a)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Settlements.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], s types.Settlement) (bool, error) {
		gs.Settlements = append(gs.Settlements, s)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Gateways.Walk(ctx, nil, func(_ collections.Pair[uint32, sdk.AccAddress], g types.Gateway) (bool, error) {
		gs.Gateways = append(gs.Gateways, g)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Revenue.Walk(ctx, nil, func(_ uint32, r types.SubnetRevenue) (bool, error) {
		gs.Revenue = append(gs.Revenue, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
