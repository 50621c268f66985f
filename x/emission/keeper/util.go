package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

// sdkCtxNoWrite gives a branch of the query context, so computations that
// write (the stake EMA) can be previewed without touching state.
func sdkCtxNoWrite(ctx context.Context) sdk.Context {
	c, _ := sdk.UnwrapSDKContext(ctx).CacheContext()
	return c
}
