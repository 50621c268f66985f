package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// DefaultParams are the values a fresh chain starts with.
func DefaultParams() Params {
	return Params{
		SubnetLimit:                 32,
		MinLockCost:                 sdkmath.NewInt(100_000_000), // 100 MERIT
		LockReductionInterval:       14_400,                      // about four hours of 1 s blocks
		UnbondingPeriod:             600,
		MaxUnbondingPayoutsPerBlock: 100,
		MinStakeAmount:              sdkmath.NewInt(1_000),
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.SubnetLimit == 0 || p.SubnetLimit > 65535 {
		return fmt.Errorf("subnet_limit must be in [1, 65535], got %d", p.SubnetLimit)
	}
	if p.MinLockCost.IsNil() || p.MinLockCost.IsNegative() {
		return fmt.Errorf("min_lock_cost must be a non-negative integer")
	}
	if p.LockReductionInterval == 0 {
		return fmt.Errorf("lock_reduction_interval must be positive")
	}
	if p.MaxUnbondingPayoutsPerBlock == 0 {
		return fmt.Errorf("max_unbonding_payouts_per_block must be positive, or unbonding stake is never paid")
	}
	if p.MinStakeAmount.IsNil() || !p.MinStakeAmount.IsPositive() {
		return fmt.Errorf("min_stake_amount must be positive")
	}
	return nil
}
