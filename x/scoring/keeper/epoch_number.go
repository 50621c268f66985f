package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
)

// EpochNumber is the number of the subnet's last completed epoch (0 before
// the first): x/payment resets per-epoch spend limits when it changes.
func (k Keeper) EpochNumber(ctx context.Context, netuid uint32) (uint64, error) {
	st, err := k.EpochState.Get(ctx, netuid)
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return st.Epoch, err
}
