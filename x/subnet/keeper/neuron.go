package keeper

import (
	"context"
	"encoding/binary"
	"errors"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// pruneKey orders a subnet's neurons for pruning: netuid, then last emission,
// registration block and UID, all big-endian so byte order is prune order.
// Emission saturates at 2^64-1 umerit, far above any epoch's issuance.
func pruneKey(netuid uint32, n types.Neuron) []byte {
	em := uint64(0)
	if !n.LastEmission.IsNil() {
		if n.LastEmission.IsUint64() {
			em = n.LastEmission.Uint64()
		} else if n.LastEmission.IsPositive() {
			em = ^uint64(0)
		}
	}
	reg := uint64(0)
	if n.RegisteredAt > 0 {
		reg = uint64(n.RegisteredAt)
	}
	bz := make([]byte, 24)
	binary.BigEndian.PutUint32(bz[0:], netuid)
	binary.BigEndian.PutUint64(bz[4:], em)
	binary.BigEndian.PutUint64(bz[12:], reg)
	binary.BigEndian.PutUint32(bz[20:], n.Uid)
	return bz
}

func pruneKeyUID(bz []byte) uint32 { return binary.BigEndian.Uint32(bz[20:]) }

// GetNeuron returns the neuron or ErrNeuronNotFound.
func (k Keeper) GetNeuron(ctx context.Context, netuid, uid uint32) (types.Neuron, error) {
	n, err := k.Neurons.Get(ctx, collections.Join(netuid, uid))
	if errors.Is(err, collections.ErrNotFound) {
		return n, types.ErrNeuronNotFound.Wrapf("uid %d on subnet %d", uid, netuid)
	}
	return n, err
}

// NeuronByHotkey returns the neuron a hotkey holds on a subnet.
func (k Keeper) NeuronByHotkey(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) (types.Neuron, error) {
	uid, err := k.HotkeyUID.Get(ctx, collections.Join(netuid, hotkey))
	if errors.Is(err, collections.ErrNotFound) {
		return types.Neuron{}, types.ErrNeuronNotFound.Wrapf("hotkey %s is not registered on subnet %d", hotkey, netuid)
	}
	if err != nil {
		return types.Neuron{}, err
	}
	return k.GetNeuron(ctx, netuid, uid)
}

// SetNeuron writes a neuron, keeping the prune index in step with its emission
// and registration. The caller must not change the neuron's hotkey this way.
func (k Keeper) SetNeuron(ctx context.Context, netuid uint32, n types.Neuron) error {
	old, err := k.Neurons.Get(ctx, collections.Join(netuid, n.Uid))
	switch {
	case err == nil:
		if err := k.PruneIndex.Remove(ctx, pruneKey(netuid, old)); err != nil {
			return err
		}
	case !errors.Is(err, collections.ErrNotFound):
		return err
	}
	if err := k.PruneIndex.Set(ctx, pruneKey(netuid, n)); err != nil {
		return err
	}
	return k.Neurons.Set(ctx, collections.Join(netuid, n.Uid), n)
}

// deleteNeuron removes a neuron and its indexes, and takes its hotkey's stake
// out of the subnet total (the stake itself stays, withdrawable).
func (k Keeper) deleteNeuron(ctx context.Context, netuid uint32, n types.Neuron) error {
	hk, err := storedAddr(n.Hotkey)
	if err != nil {
		return err
	}
	if err := k.PruneIndex.Remove(ctx, pruneKey(netuid, n)); err != nil {
		return err
	}
	if err := k.HotkeyUID.Remove(ctx, collections.Join(netuid, hk)); err != nil {
		return err
	}
	return k.Neurons.Remove(ctx, collections.Join(netuid, n.Uid))
}

// RegistrationPrice is what a registration on netuid pays in the current block.
func (k Keeper) RegistrationPrice(ctx context.Context, netuid uint32) (sdkmath.Int, error) {
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return sdkmath.Int{}, err
	}
	return registrationPrice(s, sdk.UnwrapSDKContext(ctx).BlockHeight()), nil
}

// isImmune reports whether a neuron is inside its immunity period.
func isImmune(n types.Neuron, h types.Hyperparams, height int64) bool {
	return uint64(height-n.RegisteredAt) < h.ImmunityPeriod
}

// PruneCandidate is the neuron a registration into the full subnet would
// replace now.
func (k Keeper) PruneCandidate(ctx context.Context, netuid uint32) (types.Neuron, error) {
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return types.Neuron{}, err
	}
	return k.pruneCandidate(ctx, s, sdk.UnwrapSDKContext(ctx).BlockHeight())
}

// pruneCandidate picks the neuron to replace in a full subnet: the first
// non-immune neuron in prune order, else the first neuron. The walk stops at
// the first non-immune neuron, so it reads at most (immune neurons + 1)
// entries rather than the whole subnet.
func (k Keeper) pruneCandidate(ctx context.Context, s types.Subnet, height int64) (types.Neuron, error) {
	start := make([]byte, 4)
	binary.BigEndian.PutUint32(start, s.Netuid)
	end := make([]byte, 4)
	binary.BigEndian.PutUint32(end, s.Netuid+1)
	rng := new(collections.Range[[]byte]).StartInclusive(start).EndExclusive(end)

	var first, chosen *types.Neuron
	err := k.PruneIndex.Walk(ctx, rng, func(key []byte) (bool, error) {
		n, err := k.GetNeuron(ctx, s.Netuid, pruneKeyUID(key))
		if err != nil {
			return true, err
		}
		if first == nil {
			first = &n
		}
		if !isImmune(n, s.Hyperparams, height) {
			chosen = &n
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return types.Neuron{}, err
	}
	if chosen != nil {
		return *chosen, nil
	}
	if first == nil {
		return types.Neuron{}, types.ErrNeuronNotFound.Wrapf("subnet %d is full but has no neurons", s.Netuid)
	}
	return *first, nil
}

// RegisterNeuron burns the price from the hotkey and gives it a UID, pruning
// the weakest neuron when the subnet is full.
func (k Keeper) RegisterNeuron(ctx context.Context, msg *types.MsgRegisterNeuron) (*types.MsgRegisterNeuronResponse, error) {
	hotkey, info, s, err := k.registrant(ctx, msg)
	if err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	height := sdkCtx.BlockHeight()
	price := registrationPrice(s, height)
	if price.GT(msg.MaxBurn) {
		return nil, types.ErrPriceTooHigh.Wrapf("price %s%s > max_burn %s", price, k.denom, msg.MaxBurn)
	}
	if err := k.burnFrom(ctx, hotkey, price); err != nil {
		return nil, err
	}
	uid, pruned, err := k.freeUID(ctx, &s, height)
	if err != nil {
		return nil, err
	}
	n := types.Neuron{
		Uid:          uid,
		Hotkey:       msg.Hotkey,
		Owner:        info.Owner,
		RegisteredAt: height,
		LastEmission: sdkmath.ZeroInt(),
	}
	if err := k.SetNeuron(ctx, msg.Netuid, n); err != nil {
		return nil, err
	}
	if err := k.HotkeyUID.Set(ctx, collections.Join(msg.Netuid, hotkey), uid); err != nil {
		return nil, err
	}
	if err := k.Hotkeys.Set(ctx, hotkey, info); err != nil {
		return nil, err
	}
	// Stake left on this hotkey from an earlier registration counts again.
	stake, err := k.hotkeyStake(ctx, msg.Netuid, hotkey)
	if err != nil {
		return nil, err
	}
	s.TotalStake = s.TotalStake.Add(stake)
	s.Burn = bumpedBurn(price, s.Hyperparams)
	s.BurnUpdatedAt = height
	s.Registrations++
	if err := k.Subnets.Set(ctx, msg.Netuid, s); err != nil {
		return nil, err
	}
	return &types.MsgRegisterNeuronResponse{Uid: uid, Burned: price, PrunedHotkey: pruned},
		sdkCtx.EventManager().EmitTypedEvent(&types.EventNeuronRegistered{
			Netuid: msg.Netuid, Uid: uid, Hotkey: msg.Hotkey, Owner: info.Owner, Burned: price, PrunedHotkey: pruned,
		})
}

// registrant checks a registration against state: valid addresses and
// max_burn, an existing subnet, a hotkey not yet registered there and, if
// the hotkey is known, the same owner. It returns the hotkey, its info (new
// with the default take when unknown) and the subnet.
func (k Keeper) registrant(ctx context.Context, msg *types.MsgRegisterNeuron) (sdk.AccAddress, types.HotkeyInfo, types.Subnet, error) {
	var none types.HotkeyInfo
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return nil, none, types.Subnet{}, err
	}
	owner, err := k.parseAddr("owner", msg.Owner)
	if err != nil {
		return nil, none, types.Subnet{}, err
	}
	if msg.MaxBurn.IsNil() || msg.MaxBurn.IsNegative() {
		return nil, none, types.Subnet{}, types.ErrInvalidAmount.Wrap("max_burn must be a non-negative integer")
	}
	s, err := k.GetSubnet(ctx, msg.Netuid)
	if err != nil {
		return nil, none, types.Subnet{}, err
	}
	if has, err := k.HotkeyUID.Has(ctx, collections.Join(msg.Netuid, hotkey)); err != nil {
		return nil, none, s, err
	} else if has {
		return nil, none, s, types.ErrAlreadyRegistered.Wrapf("%s on subnet %d", msg.Hotkey, msg.Netuid)
	}
	info, err := k.Hotkeys.Get(ctx, hotkey)
	switch {
	case errors.Is(err, collections.ErrNotFound):
		p, err := k.Params.Get(ctx)
		if err != nil {
			return nil, none, s, err
		}
		info = types.HotkeyInfo{Hotkey: msg.Hotkey, Owner: owner.String(), TakeBps: p.DefaultTakeBps}
	case err != nil:
		return nil, none, s, err
	case info.Owner != owner.String():
		return nil, none, s, types.ErrOwnerMismatch.Wrapf("%s is owned by %s, not %s", msg.Hotkey, info.Owner, msg.Owner)
	}
	return hotkey, info, s, nil
}

// burnFrom burns the registration price from the hotkey's balance and adds
// it to the total burned.
func (k Keeper) burnFrom(ctx context.Context, hotkey sdk.AccAddress, price sdkmath.Int) error {
	if !price.IsPositive() {
		return nil
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, hotkey, types.ModuleName, k.coins(price)); err != nil {
		return err
	}
	if err := k.bank.BurnCoins(ctx, types.ModuleName, k.coins(price)); err != nil {
		return err
	}
	burned, err := k.GetTotalBurned(ctx)
	if err != nil {
		return err
	}
	return k.TotalBurned.Set(ctx, burned.Add(price))
}

// freeUID is the UID a new neuron takes: the next one while the subnet has
// room, else the prune candidate's, whose neuron is deleted (its stake
// leaves the subnet total) and whose hotkey is returned. s is updated.
func (k Keeper) freeUID(ctx context.Context, s *types.Subnet, height int64) (uid uint32, pruned string, err error) {
	if s.N < s.Hyperparams.MaxUids {
		uid = s.N
		s.N++
		return uid, "", nil
	}
	victim, err := k.pruneCandidate(ctx, *s, height)
	if err != nil {
		return 0, "", err
	}
	vhk, err := storedAddr(victim.Hotkey)
	if err != nil {
		return 0, "", err
	}
	vstake, err := k.hotkeyStake(ctx, s.Netuid, vhk)
	if err != nil {
		return 0, "", err
	}
	s.TotalStake = s.TotalStake.Sub(vstake)
	if err := k.deleteNeuron(ctx, s.Netuid, victim); err != nil {
		return 0, "", err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterNeuronReplaced(ctx, s.Netuid, victim.Uid); err != nil {
			return 0, "", err
		}
	}
	return victim.Uid, victim.Hotkey, nil
}

// ServeEndpoint records where a neuron serves, at most once per serving_rate_limit blocks.
func (k Keeper) ServeEndpoint(ctx context.Context, msg *types.MsgServeEndpoint) error {
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return err
	}
	if err := types.ValidateEndpointAddress(msg.Address); err != nil {
		return types.ErrInvalidEndpoint.Wrap(err.Error())
	}
	if err := types.ValidateModelID(msg.ModelId); err != nil {
		return types.ErrInvalidEndpoint.Wrap(err.Error())
	}
	s, err := k.GetSubnet(ctx, msg.Netuid)
	if err != nil {
		return err
	}
	n, err := k.NeuronByHotkey(ctx, msg.Netuid, hotkey)
	if err != nil {
		return err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if n.Endpoint.UpdatedAt > 0 && uint64(height-n.Endpoint.UpdatedAt) < s.Hyperparams.ServingRateLimit {
		return types.ErrRateLimited.Wrapf("endpoint updated at block %d; next update allowed at %d",
			n.Endpoint.UpdatedAt, n.Endpoint.UpdatedAt+int64(s.Hyperparams.ServingRateLimit))
	}
	n.Endpoint = types.Endpoint{Address: msg.Address, ProtocolVersion: msg.ProtocolVersion, ModelId: msg.ModelId, UpdatedAt: height}
	if err := k.Neurons.Set(ctx, collections.Join(msg.Netuid, n.Uid), n); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEndpointServed{
		Netuid: msg.Netuid, Uid: n.Uid, Hotkey: msg.Hotkey, Address: msg.Address, ProtocolVersion: msg.ProtocolVersion, ModelId: msg.ModelId,
	})
}
