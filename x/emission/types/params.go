package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// BasisPoints is the denominator of every *_bps share.
const BasisPoints = 10_000

// DefaultParams are the values a fresh chain starts with: 1 MERIT a block,
// a 21M MERIT cap, a tenth of issuance to chain security, and subnet shares
// following a slow (1%/block) EMA of subnet stake.
func DefaultParams() Params {
	return Params{
		InitialBlockReward:    sdkmath.NewInt(1_000_000),
		SupplyCap:             sdkmath.NewInt(21_000_000_000_000),
		ChainSecurityShareBps: 1_000,
		StakeEmaAlphaBps:      100,
		HistoryEpochs:         32,
		RevenueEmaAlphaBps:    100,
		RevenueShareMaxBps:    2_000,
		BurnEmissionBps:       5_000,
		MinBurnEma:            10,
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
	if p.StakeEmaAlphaBps == 0 || p.StakeEmaAlphaBps > BasisPoints {
		return fmt.Errorf("stake_ema_alpha_bps must be in [1, %d], got %d", BasisPoints, p.StakeEmaAlphaBps)
	}
	if p.RevenueEmaAlphaBps == 0 || p.RevenueEmaAlphaBps > BasisPoints {
		return fmt.Errorf("revenue_ema_alpha_bps must be in [1, %d], got %d", BasisPoints, p.RevenueEmaAlphaBps)
	}
	if p.RevenueShareMaxBps > BasisPoints {
		return fmt.Errorf("revenue_share_max_bps must be at most %d, got %d", BasisPoints, p.RevenueShareMaxBps)
	}
	if p.BurnEmissionBps >= BasisPoints {
		// At 10000 a subnet could win back as emission all that paying itself burned.
		return fmt.Errorf("burn_emission_bps must be below %d, got %d", BasisPoints, p.BurnEmissionBps)
	}
	// Rounding moves at most one umerit per block to a subnet in the revenue
	// split; it must stay below what the subnet burns beyond the emission it
	// gets back: 1 < min_burn_ema·(1 − burn_emission_bps/10^4).
	if p.RevenueShareMaxBps > 0 && p.MinBurnEma*uint64(BasisPoints-p.BurnEmissionBps) <= BasisPoints {
		return fmt.Errorf("min_burn_ema %d is too small for burn_emission_bps %d: need min_burn_ema·(10000 − burn_emission_bps) > 10000", p.MinBurnEma, p.BurnEmissionBps)
	}
	if p.HistoryEpochs > 1024 {
		return fmt.Errorf("history_epochs must be at most 1024, got %d", p.HistoryEpochs)
	}
	seen := make([]uint32, 0, len(p.FixedShares))
	sum := uint64(0)
	for _, s := range p.FixedShares {
		for _, n := range seen {
			if n == s.Netuid {
				return fmt.Errorf("fixed_shares lists subnet %d twice", s.Netuid)
			}
		}
		seen = append(seen, s.Netuid)
		sum += uint64(s.ShareBps)
	}
	if len(p.FixedShares) > 0 && sum != BasisPoints {
		return fmt.Errorf("fixed_shares must sum to %d basis points, got %d", BasisPoints, sum)
	}
	return nil
}
