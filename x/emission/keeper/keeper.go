package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	storetypes "cosmossdk.io/core/store"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/emission/types"
)

// Keeper owns issuance: the halving schedule, per-subnet accrual and epoch payouts.
type Keeper struct {
	bank    types.BankKeeper
	subnets types.SubnetKeeper
	denom   string
	// feeCollector receives the chain-security share (paid out by x/distribution).
	feeCollector string
	// subnetModule is the account that holds stake (x/subnet).
	subnetModule string
	// authority may change params: the gov module account.
	authority string

	Schema      collections.Schema
	Params      collections.Item[types.Params]
	TotalIssued collections.Item[sdkmath.Int]
	// Carry is the remainder of the last subnet split, added to the next one.
	Carry   collections.Item[sdkmath.Int]
	Subnets collections.Map[uint32, types.SubnetEmission]
	// History by (netuid, epoch, uid); only non-zero payouts are kept.
	History collections.Map[collections.Triple[uint32, uint64, uint32], types.NeuronEmission]
	// RevenueBurned is the burn share of users' payments (x/payment), burned here.
	RevenueBurned collections.Item[sdkmath.Int]
}

// NewKeeper builds the keeper; it fails when the authority is not a valid address.
func NewKeeper(cdc codec.BinaryCodec, storeService storetypes.KVStoreService, addressCodec address.Codec,
	bank types.BankKeeper, subnets types.SubnetKeeper, denom, feeCollector, subnetModule, authority string,
) (Keeper, error) {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		return Keeper{}, fmt.Errorf("invalid %s authority address %q: %w", types.ModuleName, authority, err)
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		bank: bank, subnets: subnets, denom: denom,
		feeCollector: feeCollector, subnetModule: subnetModule, authority: authority,
		Params:      collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		TotalIssued: collections.NewItem(sb, types.TotalIssuedKey, "total_issued", sdk.IntValue),
		Carry:       collections.NewItem(sb, types.CarryKey, "carry", sdk.IntValue),
		Subnets:     collections.NewMap(sb, types.SubnetsKey, "subnets", collections.Uint32Key, codec.CollValue[types.SubnetEmission](cdc)),
		History: collections.NewMap(sb, types.HistoryKey, "history",
			collections.TripleKeyCodec(collections.Uint32Key, collections.Uint64Key, collections.Uint32Key), codec.CollValue[types.NeuronEmission](cdc)),
		RevenueBurned: collections.NewItem(sb, types.RevenueBurnedKey, "revenue_burned", sdk.IntValue),
	}
	schema, err := sb.Build()
	if err != nil {
		return Keeper{}, err
	}
	k.Schema = schema
	return k, nil
}

func (k Keeper) coins(amt sdkmath.Int) sdk.Coins { return sdk.NewCoins(sdk.NewCoin(k.denom, amt)) }

func (k Keeper) intItem(ctx context.Context, item collections.Item[sdkmath.Int]) (sdkmath.Int, error) {
	v, err := item.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return sdkmath.ZeroInt(), nil
	}
	return v, err
}

// GetTotalIssued is every umerit x/emission has minted.
func (k Keeper) GetTotalIssued(ctx context.Context) (sdkmath.Int, error) {
	return k.intItem(ctx, k.TotalIssued)
}

func (k Keeper) subnetEmission(ctx context.Context, netuid uint32) (types.SubnetEmission, error) {
	se, err := k.Subnets.Get(ctx, netuid)
	if errors.Is(err, collections.ErrNotFound) {
		se, err = types.SubnetEmission{Netuid: netuid}, nil
	}
	se.FillZero()
	return se, err
}
