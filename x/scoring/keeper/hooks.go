package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Hooks returns x/scoring's reactions to x/subnet changes.
func (k Keeper) Hooks() subnettypes.SubnetHooks { return hooks{k} }

type hooks struct{ k Keeper }

// AfterNeuronReplaced drops the UID's own weights and bonds. Weights and bonds
// other validators hold toward the UID are not rewritten (that would touch
// every row); the epoch masks weights set before the new registration and
// resets bonds toward a UID registered since the last epoch, which clears
// them in effect.
func (h hooks) AfterNeuronReplaced(ctx context.Context, netuid, uid uint32) error {
	if err := h.k.Weights.Remove(ctx, collections.Join(netuid, uid)); err != nil {
		return err
	}
	return h.k.Bonds.Remove(ctx, collections.Join(netuid, uid))
}

// AfterSubnetDissolved drops everything x/scoring kept about the subnet.
func (h hooks) AfterSubnetDissolved(ctx context.Context, netuid uint32) error {
	pairs := collections.NewPrefixedPairRange[uint32, uint32](netuid)
	if err := h.k.Weights.Clear(ctx, pairs); err != nil {
		return err
	}
	if err := h.k.Bonds.Clear(ctx, pairs); err != nil {
		return err
	}
	if err := h.k.Commits.Clear(ctx, collections.NewPrefixedTripleRange[uint32, sdk.AccAddress, int64](netuid)); err != nil {
		return err
	}
	return h.k.EpochState.Remove(ctx, netuid)
}
