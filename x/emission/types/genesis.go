package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// DefaultGenesis is the module state of a fresh chain: nothing issued yet.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), TotalIssued: sdkmath.ZeroInt(), Carry: sdkmath.ZeroInt(), RevenueBurned: sdkmath.ZeroInt()}
}

// Validate checks the genesis state before it is written to the store.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.TotalIssued.IsNil() || gs.TotalIssued.IsNegative() || gs.TotalIssued.GT(gs.Params.SupplyCap) {
		return fmt.Errorf("total_issued must be in [0, supply_cap]")
	}
	if gs.Carry.IsNil() || gs.Carry.IsNegative() {
		return fmt.Errorf("carry must be non-negative")
	}
	if !gs.RevenueBurned.IsNil() && gs.RevenueBurned.IsNegative() {
		return fmt.Errorf("revenue_burned must be non-negative")
	}
	for _, s := range gs.Subnets {
		s.FillZero()
		if s.Revenue.IsNegative() || s.RevenueBlock.IsNegative() || s.RevenueEma.IsNegative() {
			return fmt.Errorf("subnet %d: revenue figures must be non-negative", s.Netuid)
		}
		if s.Pending.IsNil() || s.Pending.IsNegative() || s.StakeEma.IsNil() || s.StakeEma.IsNegative() {
			return fmt.Errorf("subnet %d: pending and stake_ema must be non-negative", s.Netuid)
		}
	}
	return nil
}
