package types

import (
	"context"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// BankKeeper mints issuance, burns the burn share of revenue, and moves
// both to recipients.
type BankKeeper interface {
	MintCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
}

// SubnetKeeper is what x/emission reads and credits in x/subnet.
type SubnetKeeper interface {
	IterateSubnets(ctx context.Context, fn func(subnettypes.Subnet) (stop bool, err error)) error
	HotkeyInfo(ctx context.Context, hotkey sdk.AccAddress) (subnettypes.HotkeyInfo, error)
	StakesOn(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) ([]sdk.AccAddress, []sdkmath.Int, error)
	CreditStake(ctx context.Context, netuid uint32, hotkey, delegator sdk.AccAddress, amt sdkmath.Int) error
	GetTotalBurned(ctx context.Context) (sdkmath.Int, error)
}
