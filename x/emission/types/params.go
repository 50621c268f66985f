package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// BasisPoints is the denominator of every *_bps share.
const BasisPoints = 10_000

// DefaultParams are the values a fresh chain starts with: 1 MERIT a block,
// a 21M MERIT cap, and a tenth of issuance to chain security.
func DefaultParams() Params {
	return Params{
		InitialBlockReward:    sdkmath.NewInt(1_000_000),
		SupplyCap:             sdkmath.NewInt(21_000_000_000_000),
		ChainSecurityShareBps: 1_000,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.InitialBlockReward.IsNil() || p.InitialBlockReward.IsNegative() {
		return fmt.Errorf("initial_block_reward must be a non-negative integer")
	}
	if p.SupplyCap.IsNil() || !p.SupplyCap.IsPositive() {
		return fmt.Errorf("supply_cap must be positive")
	}
	if p.InitialBlockReward.GT(p.SupplyCap) {
		return fmt.Errorf("initial_block_reward %s exceeds supply_cap %s", p.InitialBlockReward, p.SupplyCap)
	}
	if p.ChainSecurityShareBps > BasisPoints {
		return fmt.Errorf("chain_security_share_bps must be at most %d, got %d", BasisPoints, p.ChainSecurityShareBps)
	}
	return nil
}
