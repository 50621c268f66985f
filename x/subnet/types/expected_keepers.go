package types

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// BankKeeper is the part of x/bank that x/subnet uses: stake and locks sit in
// the module account; registration burns.
type BankKeeper interface {
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
}

// SubnetHooks let x/scoring drop what it keeps about a UID or subnet that goes away.
type SubnetHooks interface {
	// AfterNeuronReplaced runs when a pruned neuron's UID is given to a new
	// hotkey: weights toward and from the UID, and its bonds, must be cleared.
	AfterNeuronReplaced(ctx context.Context, netuid, uid uint32) error
	// AfterSubnetDissolved runs when a subnet is removed.
	AfterSubnetDissolved(ctx context.Context, netuid uint32) error
}
