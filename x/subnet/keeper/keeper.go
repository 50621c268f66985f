package keeper

import (
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	storetypes "cosmossdk.io/core/store"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/meritnet/merit/x/subnet/types"
)

// Keeper owns the x/subnet store: subnets, neurons, hotkeys, stake, unbonding.
type Keeper struct {
	addressCodec address.Codec
	// storeService backs reads that bypass a collection's miss path (see hotkeyStake).
	storeService storetypes.KVStoreService
	bank         types.BankKeeper
	// denom is the staking denom (umerit).
	denom string
	// authority may change params and dissolve subnets: the gov module account.
	authority string
	hooks     types.SubnetHooks

	Schema collections.Schema
	Params collections.Item[types.Params]
	Lock   collections.Item[types.LockState]
	// Subnets by netuid.
	Subnets collections.Map[uint32, types.Subnet]
	// Neurons by (netuid, uid).
	Neurons collections.Map[collections.Pair[uint32, uint32], types.Neuron]
	// HotkeyUID maps (netuid, hotkey) to its UID.
	HotkeyUID collections.Map[collections.Pair[uint32, sdk.AccAddress], uint32]
	// Hotkeys holds owner and take per hotkey, across subnets.
	Hotkeys collections.Map[sdk.AccAddress, types.HotkeyInfo]
	// Stakes by (netuid, hotkey, delegator).
	Stakes collections.Map[collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], sdkmath.Int]
	// HotkeyStake is the total stake on (netuid, hotkey).
	HotkeyStake collections.Map[collections.Pair[uint32, sdk.AccAddress], sdkmath.Int]
	// DelegatorStakes indexes Stakes by delegator: (delegator, netuid, hotkey).
	DelegatorStakes collections.KeySet[collections.Triple[sdk.AccAddress, uint32, sdk.AccAddress]]
	Unbondings      collections.Map[uint64, types.Unbonding]
	// UnbondingQueue orders unbondings by (completion block, id).
	UnbondingQueue       collections.KeySet[collections.Pair[int64, uint64]]
	UnbondingByDelegator collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// PruneIndex orders each subnet's neurons by (last emission, registration, uid);
	// see pruneKey.
	PruneIndex      collections.KeySet[[]byte]
	NextNetuid      collections.Sequence
	NextUnbondingID collections.Sequence
	// TotalBurned is every umerit registrations have burned.
	TotalBurned collections.Item[sdkmath.Int]
}

// NewKeeper builds the keeper; it fails when the authority is not a valid address.
func NewKeeper(
	cdc codec.BinaryCodec, storeService storetypes.KVStoreService, addressCodec address.Codec,
	bank types.BankKeeper, denom, authority string,
) (Keeper, error) {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		return Keeper{}, fmt.Errorf("invalid %s authority address %q: %w", types.ModuleName, authority, err)
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		addressCodec: addressCodec,
		storeService: storeService,
		bank:         bank,
		denom:        denom,
		authority:    authority,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Lock:         collections.NewItem(sb, types.LockStateKey, "lock", codec.CollValue[types.LockState](cdc)),
		Subnets:      collections.NewMap(sb, types.SubnetsKey, "subnets", collections.Uint32Key, codec.CollValue[types.Subnet](cdc)),
		Neurons: collections.NewMap(sb, types.NeuronsKey, "neurons",
			collections.PairKeyCodec(collections.Uint32Key, collections.Uint32Key), codec.CollValue[types.Neuron](cdc)),
		HotkeyUID: collections.NewMap(sb, types.HotkeyUIDKey, "hotkey_uid",
			collections.PairKeyCodec(collections.Uint32Key, sdk.AccAddressKey), collections.Uint32Value),
		Hotkeys: collections.NewMap(sb, types.HotkeysKey, "hotkeys", sdk.AccAddressKey, codec.CollValue[types.HotkeyInfo](cdc)),
		Stakes: collections.NewMap(sb, types.StakesKey, "stakes",
			collections.TripleKeyCodec(collections.Uint32Key, sdk.AccAddressKey, sdk.AccAddressKey), sdk.IntValue),
		HotkeyStake: collections.NewMap(sb, types.HotkeyStakeKey, "hotkey_stake",
			collections.PairKeyCodec(collections.Uint32Key, sdk.AccAddressKey), sdk.IntValue),
		DelegatorStakes: collections.NewKeySet(sb, types.DelegatorStakeIndexKey, "delegator_stakes",
			collections.TripleKeyCodec(sdk.AccAddressKey, collections.Uint32Key, sdk.AccAddressKey)),
		Unbondings: collections.NewMap(sb, types.UnbondingsKey, "unbondings", collections.Uint64Key, codec.CollValue[types.Unbonding](cdc)),
		UnbondingQueue: collections.NewKeySet(sb, types.UnbondingQueueKey, "unbonding_queue",
			collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		UnbondingByDelegator: collections.NewKeySet(sb, types.UnbondingByDelegKey, "unbonding_by_delegator",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		PruneIndex:      collections.NewKeySet(sb, types.PruneIndexKey, "prune_index", collections.BytesKey),
		NextNetuid:      collections.NewSequence(sb, types.NextNetuidKey, "next_netuid"),
		NextUnbondingID: collections.NewSequence(sb, types.NextUnbondingIDKey, "next_unbonding_id"),
		TotalBurned:     collections.NewItem(sb, types.TotalBurnedKey, "total_burned", sdk.IntValue),
	}
	schema, err := sb.Build()
	if err != nil {
		return Keeper{}, err
	}
	k.Schema = schema
	return k, nil
}

// SetHooks installs the x/scoring hooks; called once during app wiring.
func (k *Keeper) SetHooks(h types.SubnetHooks) {
	if k.hooks != nil {
		panic("x/subnet hooks already set")
	}
	k.hooks = h
}

func (k Keeper) coins(amt sdkmath.Int) sdk.Coins { return sdk.NewCoins(sdk.NewCoin(k.denom, amt)) }

// parseAddr decodes a bech32 account address, naming the field on error.
func (k Keeper) parseAddr(field, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil || len(bz) == 0 {
		return nil, types.ErrInvalidAddress.Wrapf("%s %q: %v", field, s, err)
	}
	return bz, nil
}

// storedAddr decodes an address the module wrote itself (a neuron's hotkey).
// It was validated on the way in, so this skips the SDK codec's global-config
// checks, which dominate metagraph reads of thousands of neurons.
func storedAddr(s string) (sdk.AccAddress, error) {
	_, bz, err := bech32.DecodeAndConvert(s)
	if err != nil || len(bz) == 0 {
		return nil, types.ErrInvalidAddress.Wrapf("stored address %q: %v", s, err)
	}
	return bz, nil
}
