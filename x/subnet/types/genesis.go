package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// DefaultGenesis is the module state of a fresh chain: no subnets yet.
func DefaultGenesis() *GenesisState {
	return &GenesisState{
		Params:          DefaultParams(),
		Lock:            LockState{LastLock: sdkmath.ZeroInt()},
		NextNetuid:      1,
		NextUnbondingId: 1,
		TotalBurned:     sdkmath.ZeroInt(),
	}
}

// Validate checks the genesis state before it is written to the store. Indexes
// and totals are rebuilt from it at import, so only primary records are checked.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := map[uint32]bool{}
	for _, s := range gs.Subnets {
		if s.Netuid == 0 || s.Netuid >= gs.NextNetuid || s.Netuid > MaxNetuid {
			return fmt.Errorf("subnet netuid %d must be in [1, next_netuid=%d)", s.Netuid, gs.NextNetuid)
		}
		if seen[s.Netuid] {
			return fmt.Errorf("duplicate subnet %d", s.Netuid)
		}
		seen[s.Netuid] = true
		if err := s.Task.Validate(); err != nil {
			return fmt.Errorf("subnet %d: %w", s.Netuid, err)
		}
		if err := s.Hyperparams.ValidateBasic(); err != nil {
			return fmt.Errorf("subnet %d: %w", s.Netuid, err)
		}
	}
	for _, gn := range gs.Neurons {
		if !seen[gn.Netuid] {
			return fmt.Errorf("neurons for unknown subnet %d", gn.Netuid)
		}
	}
	if gs.NextUnbondingId == 0 {
		return fmt.Errorf("next_unbonding_id must be positive")
	}
	for _, u := range gs.Unbondings {
		if u.Id == 0 || u.Id >= gs.NextUnbondingId {
			return fmt.Errorf("unbonding id %d must be in [1, next_unbonding_id=%d)", u.Id, gs.NextUnbondingId)
		}
		if u.Amount.IsNil() || !u.Amount.IsPositive() {
			return fmt.Errorf("unbonding %d has a non-positive amount", u.Id)
		}
	}
	for _, s := range gs.Stakes {
		if s.Amount.IsNil() || !s.Amount.IsPositive() {
			return fmt.Errorf("stake of %s on %s has a non-positive amount", s.Delegator, s.Hotkey)
		}
	}
	return nil
}
