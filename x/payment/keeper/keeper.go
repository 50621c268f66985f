// Package keeper holds x/payment's state: access accounts, the gateways'
// settled counters and announced URLs, and revenue per subnet.
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

	"github.com/meritnet/merit/x/payment/types"
)

// Keeper owns access accounts and settlement.
type Keeper struct {
	bank     types.BankKeeper
	subnets  types.SubnetKeeper
	epochs   types.EpochKeeper
	emission types.EmissionKeeper
	addrs    address.Codec
	denom    string
	// emissionModule receives the subnet and burn shares of every charge.
	emissionModule string
	// authority may change params: the gov module account.
	authority string

	Schema        collections.Schema
	Params        collections.Item[types.Params]
	NextAccountID collections.Sequence
	Accounts      collections.Map[uint64, types.Account]
	// KeyHashIndex maps the key hash of every open (not closing) account to its id.
	KeyHashIndex collections.Map[string, uint64]
	PayerIndex   collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// SubnetIndex lists each subnet's accounts, so a gateway reads only its
	// own subnet's: accounts opened on one subnet cost others nothing.
	SubnetIndex collections.KeySet[collections.Pair[uint32, uint64]]
	// ClosingQueue orders closing accounts by the last block they may be settled.
	ClosingQueue collections.KeySet[collections.Pair[int64, uint64]]
	// Settlements by (account, gateway hotkey).
	Settlements collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Settlement]
	// Gateways by (netuid, hotkey).
	Gateways collections.Map[collections.Pair[uint32, sdk.AccAddress], types.Gateway]
	Revenue  collections.Map[uint32, types.SubnetRevenue]
}

// NewKeeper builds the keeper; it fails when the authority is not a valid address.
func NewKeeper(cdc codec.BinaryCodec, storeService storetypes.KVStoreService, addressCodec address.Codec,
	bank types.BankKeeper, subnets types.SubnetKeeper, epochs types.EpochKeeper, emission types.EmissionKeeper,
	denom, emissionModule, authority string,
) (Keeper, error) {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		return Keeper{}, fmt.Errorf("invalid %s authority address %q: %w", types.ModuleName, authority, err)
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		bank: bank, subnets: subnets, epochs: epochs, emission: emission, addrs: addressCodec,
		denom: denom, emissionModule: emissionModule, authority: authority,
		Params:        collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		NextAccountID: collections.NewSequence(sb, types.NextAccountIDKey, "next_account_id"),
		Accounts:      collections.NewMap(sb, types.AccountsKey, "accounts", collections.Uint64Key, codec.CollValue[types.Account](cdc)),
		KeyHashIndex:  collections.NewMap(sb, types.KeyHashIndexKey, "key_hash_index", collections.StringKey, collections.Uint64Value),
		PayerIndex: collections.NewKeySet(sb, types.PayerIndexKey, "payer_index",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		SubnetIndex: collections.NewKeySet(sb, types.SubnetIndexKey, "subnet_index",
			collections.PairKeyCodec(collections.Uint32Key, collections.Uint64Key)),
		ClosingQueue: collections.NewKeySet(sb, types.ClosingQueueKey, "closing_queue",
			collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		Settlements: collections.NewMap(sb, types.SettlementsKey, "settlements",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Settlement](cdc)),
		Gateways: collections.NewMap(sb, types.GatewaysKey, "gateways",
			collections.PairKeyCodec(collections.Uint32Key, sdk.AccAddressKey), codec.CollValue[types.Gateway](cdc)),
		Revenue: collections.NewMap(sb, types.RevenueKey, "revenue", collections.Uint32Key, codec.CollValue[types.SubnetRevenue](cdc)),
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

func (k Keeper) coins(amt sdkmath.Int) sdk.Coins { return sdk.NewCoins(sdk.NewCoin(k.denom, amt)) }

func (k Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addrs.StringToBytes(s)
	if err != nil || len(bz) == 0 {
		return nil, types.ErrInvalidAddress.Wrapf("%s %q", field, s)
	}
	return bz, nil
}

// GetAccount returns the account or ErrAccountNotFound.
func (k Keeper) GetAccount(ctx context.Context, id uint64) (types.Account, error) {
	a, err := k.Accounts.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return a, types.ErrAccountNotFound.Wrapf("id %d", id)
	}
	return a, err
}

func (k Keeper) subnetRevenue(ctx context.Context, netuid uint32) (types.SubnetRevenue, error) {
	r, err := k.Revenue.Get(ctx, netuid)
	if errors.Is(err, collections.ErrNotFound) {
		z := sdkmath.ZeroInt()
		return types.SubnetRevenue{Netuid: netuid, Charged: z, GatewayFees: z, Burned: z, ToSubnet: z, Shortfall: z}, nil
	}
	return r, err
}

// AccountedBalance is what the module account must hold: every account's balance.
func (k Keeper) AccountedBalance(ctx context.Context) (sdkmath.Int, error) {
	total := sdkmath.ZeroInt()
	err := k.Accounts.Walk(ctx, nil, func(_ uint64, a types.Account) (bool, error) {
		total = total.Add(a.Balance)
		return false, nil
	})
	return total, err
}
