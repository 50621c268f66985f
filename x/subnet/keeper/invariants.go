package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// AccountedBalance is what the module account must hold: every stake, every
// unbonding entry not yet paid, and every subnet lock. Tests and the chain's
// supply invariant compare it with the actual balance.
func (k Keeper) AccountedBalance(ctx context.Context) (sdkmath.Int, error) {
	total := sdkmath.ZeroInt()
	err := k.Stakes.Walk(ctx, nil, func(_ collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], amt sdkmath.Int) (bool, error) {
		total = total.Add(amt)
		return false, nil
	})
	if err != nil {
		return total, err
	}
	err = k.Unbondings.Walk(ctx, nil, func(_ uint64, u types.Unbonding) (bool, error) {
		total = total.Add(u.Amount)
		return false, nil
	})
	if err != nil {
		return total, err
	}
	err = k.Subnets.Walk(ctx, nil, func(_ uint32, s types.Subnet) (bool, error) {
		total = total.Add(s.Locked)
		return false, nil
	})
	return total, err
}

// CheckTotals verifies the derived totals against the primary stake records:
// each hotkey total and each subnet's total over registered hotkeys. Stakes are
// keyed (netuid, hotkey, delegator), so one ordered pass sees each hotkey's
// stakes together.
func (k Keeper) CheckTotals(ctx context.Context) error {
	var cur collections.Pair[uint32, sdk.AccAddress]
	sum, started := sdkmath.ZeroInt(), false
	flush := func() error {
		if !started {
			return nil
		}
		got, err := k.hotkeyStake(ctx, cur.K1(), cur.K2())
		if err != nil {
			return err
		}
		if !got.Equal(sum) {
			return fmt.Errorf("hotkey %s on subnet %d: total %s, stakes sum to %s", cur.K2(), cur.K1(), got, sum)
		}
		return nil
	}
	err := k.Stakes.Walk(ctx, nil, func(key collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], amt sdkmath.Int) (bool, error) {
		if !started || key.K1() != cur.K1() || !key.K2().Equals(cur.K2()) {
			if err := flush(); err != nil {
				return true, err
			}
			cur, sum, started = collections.Join(key.K1(), key.K2()), sdkmath.ZeroInt(), true
		}
		sum = sum.Add(amt)
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return k.Subnets.Walk(ctx, nil, func(netuid uint32, s types.Subnet) (bool, error) {
		neurons, stakes, err := k.NeuronsOf(ctx, netuid)
		if err != nil {
			return true, err
		}
		total := sdkmath.ZeroInt()
		for _, st := range stakes {
			total = total.Add(st)
		}
		if !total.Equal(s.TotalStake) || uint32(len(neurons)) != s.N {
			return true, fmt.Errorf("subnet %d: total_stake %s and n %d, but neurons hold %s and number %d", netuid, s.TotalStake, s.N, total, len(neurons))
		}
		return false, nil
	})
}
