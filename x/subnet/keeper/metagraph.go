package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// Metagraph reads everything the daemons need about a subnet in one pass over
// its neurons: per neuron one neuron read, one stake read, one take read.
func (k Keeper) Metagraph(ctx context.Context, netuid uint32) (*types.QueryMetagraphResponse, error) {
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return nil, err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	out := &types.QueryMetagraphResponse{
		Subnet:            s,
		Block:             height,
		RegistrationPrice: registrationPrice(s, height),
		Neurons:           make([]types.MetagraphNeuron, 0, s.N),
	}
	err = k.Neurons.Walk(ctx, collections.NewPrefixedPairRange[uint32, uint32](netuid), func(_ collections.Pair[uint32, uint32], n types.Neuron) (bool, error) {
		hk, err := storedAddr(n.Hotkey)
		if err != nil {
			return true, err
		}
		stake, err := k.hotkeyStake(ctx, netuid, hk)
		if err != nil {
			return true, err
		}
		take := uint32(0)
		if info, err := k.Hotkeys.Get(ctx, hk); err == nil {
			take = info.TakeBps
		}
		if n.LastEmission.IsNil() {
			n.LastEmission = sdkmath.ZeroInt()
		}
		out.Neurons = append(out.Neurons, types.MetagraphNeuron{
			Neuron: n, Stake: stake, TakeBps: take, Immune: isImmune(n, s.Hyperparams, height),
		})
		return false, nil
	})
	return out, err
}
