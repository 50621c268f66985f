package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// BasisPoints is the denominator of every *_bps share.
const BasisPoints = 10_000

// Hard ceilings on the gov-set bounds, so that no proposal can make one
// transaction or one EndBlock unboundedly expensive.
const (
	maxSettleItemsCeiling   = 10_000
	maxRefundsCeiling       = 1_000
	maxGatewaysPerAcctLimit = 256
	maxURLLengthCeiling     = 2_048
)

// DefaultParams: 1 MERIT opens an account; closing accounts may be settled
// for 100 blocks; a tenth of every charge goes to the gateway, a tenth is
// burned and the rest is paid out through the subnet's epoch.
func DefaultParams() Params {
	return Params{
		MinDeposit:            sdkmath.NewInt(1_000_000),
		CloseGraceBlocks:      100,
		GatewayFeeBps:         1_000,
		BurnBps:               1_000,
		MaxSettleItems:        1_000,
		MaxRefundsPerBlock:    50,
		MaxGatewaysPerAccount: 16,
		MaxUrlLength:          256,
	}
}

// Validate reports the first field that is out of range.
func (p Params) Validate() error {
	if p.MinDeposit.IsNil() || !p.MinDeposit.IsPositive() {
		return fmt.Errorf("min_deposit must be positive")
	}
	if uint64(p.GatewayFeeBps)+uint64(p.BurnBps) > BasisPoints {
		return fmt.Errorf("gateway_fee_bps + burn_bps must be at most %d, got %d", BasisPoints, uint64(p.GatewayFeeBps)+uint64(p.BurnBps))
	}
	for _, f := range []struct {
		name   string
		v, max uint64
	}{
		{"max_settle_items", uint64(p.MaxSettleItems), maxSettleItemsCeiling},
		{"max_refunds_per_block", uint64(p.MaxRefundsPerBlock), maxRefundsCeiling},
		{"max_gateways_per_account", uint64(p.MaxGatewaysPerAccount), maxGatewaysPerAcctLimit},
		{"max_url_length", uint64(p.MaxUrlLength), maxURLLengthCeiling},
		{"close_grace_blocks", p.CloseGraceBlocks, 10_000_000},
	} {
		if f.v == 0 || f.v > f.max {
			return fmt.Errorf("%s must be in [1, %d], got %d", f.name, f.max, f.v)
		}
	}
	return nil
}
