package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// InitGenesis writes a validated genesis state. Only primary records are
// imported; every index and total is rebuilt from them, so an exported state
// cannot carry an inconsistent index into a new chain.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	lock := gs.Lock
	if lock.LastLock.IsNil() {
		lock.LastLock = sdkmath.ZeroInt()
	}
	if err := k.Lock.Set(ctx, lock); err != nil {
		return err
	}
	if err := k.NextNetuid.Set(ctx, uint64(gs.NextNetuid)); err != nil {
		return err
	}
	if err := k.NextUnbondingID.Set(ctx, gs.NextUnbondingId); err != nil {
		return err
	}
	burned := gs.TotalBurned
	if burned.IsNil() {
		burned = sdkmath.ZeroInt()
	}
	if err := k.TotalBurned.Set(ctx, burned); err != nil {
		return err
	}
	for _, s := range gs.Subnets {
		s.N, s.TotalStake = 0, sdkmath.ZeroInt()
		if err := k.Subnets.Set(ctx, s.Netuid, s); err != nil {
			return err
		}
	}
	for _, h := range gs.Hotkeys {
		hk, err := k.parseAddr("hotkey", h.Hotkey)
		if err != nil {
			return err
		}
		if err := k.Hotkeys.Set(ctx, hk, h); err != nil {
			return err
		}
	}
	for _, gn := range gs.Neurons {
		s, err := k.GetSubnet(ctx, gn.Netuid)
		if err != nil {
			return err
		}
		for i, n := range gn.Neurons {
			if n.Uid != uint32(i) {
				return fmt.Errorf("subnet %d: neurons must be listed by UID 0..n-1, found uid %d at %d", gn.Netuid, n.Uid, i)
			}
			hk, err := k.parseAddr("hotkey", n.Hotkey)
			if err != nil {
				return err
			}
			if has, _ := k.HotkeyUID.Has(ctx, collections.Join(gn.Netuid, hk)); has {
				return fmt.Errorf("subnet %d: hotkey %s registered twice", gn.Netuid, n.Hotkey)
			}
			if !k.hasHotkey(ctx, hk) {
				return fmt.Errorf("subnet %d: hotkey %s has no hotkey record", gn.Netuid, n.Hotkey)
			}
			if n.LastEmission.IsNil() {
				n.LastEmission = sdkmath.ZeroInt()
			}
			if err := k.SetNeuron(ctx, gn.Netuid, n); err != nil {
				return err
			}
			if err := k.HotkeyUID.Set(ctx, collections.Join(gn.Netuid, hk), n.Uid); err != nil {
				return err
			}
		}
		s.N = uint32(len(gn.Neurons))
		if s.N > s.Hyperparams.MaxUids {
			return fmt.Errorf("subnet %d has %d neurons, above max_uids %d", gn.Netuid, s.N, s.Hyperparams.MaxUids)
		}
		if err := k.Subnets.Set(ctx, gn.Netuid, s); err != nil {
			return err
		}
	}
	for _, st := range gs.Stakes {
		hk, err := k.parseAddr("hotkey", st.Hotkey)
		if err != nil {
			return err
		}
		del, err := k.parseAddr("delegator", st.Delegator)
		if err != nil {
			return err
		}
		if _, err := k.GetSubnet(ctx, st.Netuid); err != nil {
			return err
		}
		if err := k.CreditStake(ctx, st.Netuid, hk, del, st.Amount); err != nil {
			return err
		}
	}
	for _, u := range gs.Unbondings {
		del, err := k.parseAddr("delegator", u.Delegator)
		if err != nil {
			return err
		}
		if err := k.setUnbonding(ctx, u, del); err != nil {
			return err
		}
	}
	return nil
}

func (k Keeper) hasHotkey(ctx context.Context, hk sdk.AccAddress) bool {
	has, err := k.Hotkeys.Has(ctx, hk)
	return err == nil && has
}

// ExportGenesis reads the primary records back out, in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	gs := &types.GenesisState{}
	var err error
	if gs.Params, err = k.Params.Get(ctx); err != nil {
		return nil, err
	}
	if gs.Lock, err = k.Lock.Get(ctx); err != nil {
		return nil, err
	}
	next, err := k.NextNetuid.Peek(ctx)
	if err != nil {
		return nil, err
	}
	gs.NextNetuid = uint32(next)
	if gs.NextUnbondingId, err = k.NextUnbondingID.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.TotalBurned, err = k.GetTotalBurned(ctx); err != nil {
		return nil, err
	}
	if err := k.Subnets.Walk(ctx, nil, func(netuid uint32, s types.Subnet) (bool, error) {
		gs.Subnets = append(gs.Subnets, s)
		neurons, _, err := k.NeuronsOf(ctx, netuid)
		if err != nil {
			return true, err
		}
		if len(neurons) > 0 {
			gs.Neurons = append(gs.Neurons, types.GenesisNeurons{Netuid: netuid, Neurons: neurons})
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Hotkeys.Walk(ctx, nil, func(_ sdk.AccAddress, h types.HotkeyInfo) (bool, error) {
		gs.Hotkeys = append(gs.Hotkeys, h)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Stakes.Walk(ctx, nil, func(key collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], amt sdkmath.Int) (bool, error) {
		gs.Stakes = append(gs.Stakes, types.Stake{Netuid: key.K1(), Hotkey: key.K2().String(), Delegator: key.K3().String(), Amount: amt})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Unbondings.Walk(ctx, nil, func(_ uint64, u types.Unbonding) (bool, error) {
		gs.Unbondings = append(gs.Unbondings, u)
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
