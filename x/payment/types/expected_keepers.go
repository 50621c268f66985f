package types

import (
	"context"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// BankKeeper moves deposits, refunds and revenue.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
}

// SubnetKeeper is what x/payment reads in x/subnet: prices, neurons, permits, owners.
type SubnetKeeper interface {
	GetSubnet(ctx context.Context, netuid uint32) (subnettypes.Subnet, error)
	NeuronByHotkey(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) (subnettypes.Neuron, error)
	NeuronsOf(ctx context.Context, netuid uint32) ([]subnettypes.Neuron, []sdkmath.Int, error)
	HotkeyInfo(ctx context.Context, hotkey sdk.AccAddress) (subnettypes.HotkeyInfo, error)
}

// EpochKeeper tells which epoch of a subnet is running, for spend limits.
type EpochKeeper interface {
	EpochNumber(ctx context.Context, netuid uint32) (uint64, error)
}

// EmissionKeeper takes a charge's subnet share into the subnet's pending
// payout and burns the burn share; both amounts are already in its module
// account when it is called.
type EmissionKeeper interface {
	AddRevenue(ctx context.Context, netuid uint32, toSubnet, burn sdkmath.Int) error
	SubnetRevenue(ctx context.Context, netuid uint32) (sdkmath.Int, sdkmath.LegacyDec, error)
}
