package keeper

import (
	"context"

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
	err = k.walkNeurons(ctx, netuid, func(n types.Neuron, hk sdk.AccAddress, stake sdkmath.Int) {
		take := uint32(0)
		if info, err := k.HotkeyInfo(ctx, hk); err == nil {
			take = info.TakeBps
		}
		if n.LastEmission.IsNil() {
			n.LastEmission = sdkmath.ZeroInt()
		}
		out.Neurons = append(out.Neurons, types.MetagraphNeuron{
			Neuron: n, Stake: stake, TakeBps: take, Immune: isImmune(n, s.Hyperparams, height),
		})
	})
	return out, err
}
