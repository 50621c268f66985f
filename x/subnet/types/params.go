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
		DefaultHyperparams:          DefaultHyperparams(),
		MinHyperparams:              DefaultMinHyperparams(),
		MaxHyperparams:              DefaultMaxHyperparams(),
		DefaultTakeBps:              1_800,
		MinTakeBps:                  0,
		MaxTakeBps:                  1_800,
		TakeIncreaseRateLimit:       1_000,
		// About a day of 6-second blocks.
		TakeIncreaseNotice: 14_400,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.SubnetLimit == 0 || p.SubnetLimit > MaxNetuid {
		return fmt.Errorf("subnet_limit must be in [1, %d], got %d", MaxNetuid, p.SubnetLimit)
	}
	if p.MinLockCost.IsNil() || p.MinLockCost.IsNegative() {
		return fmt.Errorf("min_lock_cost must be a non-negative integer")
	}
	if p.TakeIncreaseNotice > 10_000_000 {
		return fmt.Errorf("take_increase_notice must be at most 10000000 blocks, got %d", p.TakeIncreaseNotice)
	}
	if p.LockReductionInterval == 0 {
		return fmt.Errorf("lock_reduction_interval must be positive")
	}
	if p.MaxUnbondingPayoutsPerBlock == 0 {
		return fmt.Errorf("max_unbonding_payouts_per_block must be positive, or unbonding stake is never paid")
	}
	if p.MaxUnbondingPayoutsPerBlock > 10_000 {
		return fmt.Errorf("max_unbonding_payouts_per_block must be at most 10000 to bound EndBlock work")
	}
	if p.MinStakeAmount.IsNil() || !p.MinStakeAmount.IsPositive() {
		return fmt.Errorf("min_stake_amount must be positive")
	}
	if err := validateBounds(p.MinHyperparams, p.MaxHyperparams); err != nil {
		return err
	}
	if err := p.DefaultHyperparams.Within(p.MinHyperparams, p.MaxHyperparams); err != nil {
		return fmt.Errorf("default_hyperparams: %w", err)
	}
	if p.MinTakeBps > p.MaxTakeBps || p.MaxTakeBps > BasisPoints {
		return fmt.Errorf("take bounds must satisfy min_take_bps <= max_take_bps <= %d", BasisPoints)
	}
	if p.DefaultTakeBps < p.MinTakeBps || p.DefaultTakeBps > p.MaxTakeBps {
		return fmt.Errorf("default_take_bps %d is outside [%d, %d]", p.DefaultTakeBps, p.MinTakeBps, p.MaxTakeBps)
	}
	return nil
}
