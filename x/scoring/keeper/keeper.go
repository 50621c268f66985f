package keeper

import (
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	storetypes "cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
)

// Keeper owns the x/scoring store: weights, bonds, commits, epoch state.
type Keeper struct {
	addressCodec address.Codec
	// storeService backs the epoch's raw walk over stored rows (epoch_rows.go).
	storeService storetypes.KVStoreService
	subnets      types.SubnetKeeper
	emission     types.EmissionKeeper
	// authority may change params: the gov module account.
	authority string

	Schema collections.Schema
	Params collections.Item[types.Params]
	// Weights by (netuid, validator uid).
	Weights collections.Map[collections.Pair[uint32, uint32], types.WeightsRow]
	// Bonds by (netuid, validator uid).
	Bonds collections.Map[collections.Pair[uint32, uint32], types.BondsRow]
	// Commits by (netuid, hotkey, commit block).
	Commits    collections.Map[collections.Triple[uint32, sdk.AccAddress, int64], types.WeightCommit]
	EpochState collections.Map[uint32, types.EpochState]
}

// NewKeeper builds the keeper; it fails when the authority is not a valid address.
func NewKeeper(cdc codec.BinaryCodec, storeService storetypes.KVStoreService, addressCodec address.Codec,
	subnets types.SubnetKeeper, authority string,
) (Keeper, error) {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		return Keeper{}, fmt.Errorf("invalid %s authority address %q: %w", types.ModuleName, authority, err)
	}
	sb := collections.NewSchemaBuilder(storeService)
	pair := collections.PairKeyCodec(collections.Uint32Key, collections.Uint32Key)
	k := Keeper{
		addressCodec: addressCodec,
		storeService: storeService,
		subnets:      subnets,
		authority:    authority,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Weights:      collections.NewMap(sb, types.WeightsKey, "weights", pair, codec.CollValue[types.WeightsRow](cdc)),
		Bonds:        collections.NewMap(sb, types.BondsKey, "bonds", pair, codec.CollValue[types.BondsRow](cdc)),
		Commits: collections.NewMap(sb, types.CommitsKey, "commits",
			collections.TripleKeyCodec(collections.Uint32Key, sdk.AccAddressKey, collections.Int64Key), codec.CollValue[types.WeightCommit](cdc)),
		EpochState: collections.NewMap(sb, types.EpochStateKey, "epoch_state", collections.Uint32Key, codec.CollValue[types.EpochState](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		return Keeper{}, err
	}
	k.Schema = schema
	return k, nil
}

// SetEmissionKeeper connects x/emission; without it epochs distribute nothing.
func (k *Keeper) SetEmissionKeeper(e types.EmissionKeeper) { k.emission = e }

func (k Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil || len(bz) == 0 {
		return nil, types.ErrInvalidWeights.Wrapf("%s %q is not a valid address: %v", field, s, err)
	}
	return bz, nil
}
