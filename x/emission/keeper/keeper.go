package keeper

import (
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	storetypes "cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"

	"github.com/meritnet/merit/x/emission/types"
)

// Keeper owns the x/emission store.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	// authority may change params: the gov module account.
	authority string

	Schema collections.Schema
	Params collections.Item[types.Params]
}

// NewKeeper builds the keeper; it fails when the authority is not a valid address.
func NewKeeper(cdc codec.BinaryCodec, storeService storetypes.KVStoreService, addressCodec address.Codec, authority string) (Keeper, error) {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		return Keeper{}, fmt.Errorf("invalid %s authority address %q: %w", types.ModuleName, authority, err)
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:          cdc,
		addressCodec: addressCodec,
		authority:    authority,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		return Keeper{}, err
	}
	k.Schema = schema
	return k, nil
}

// Authority is the address allowed to change params.
func (k Keeper) Authority() string { return k.authority }
