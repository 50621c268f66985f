package keeper

import (
	"context"
	"sort"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// walkNeurons visits a subnet's neurons in UID order with their hotkey and stake.
func (k Keeper) walkNeurons(ctx context.Context, netuid uint32, fn func(n types.Neuron, hotkey sdk.AccAddress, stake sdkmath.Int)) error {
	return k.Neurons.Walk(ctx, collections.NewPrefixedPairRange[uint32, uint32](netuid), func(_ collections.Pair[uint32, uint32], n types.Neuron) (bool, error) {
		hk, err := storedAddr(n.Hotkey)
		if err != nil {
			return true, err
		}
		st, err := k.hotkeyStake(ctx, netuid, hk)
		if err != nil {
			return true, err
		}
		fn(n, hk, st)
		return false, nil
	})
}

// NeuronsOf returns a subnet's neurons in UID order with their stake, for the epoch.
func (k Keeper) NeuronsOf(ctx context.Context, netuid uint32) ([]types.Neuron, []sdkmath.Int, error) {
	var neurons []types.Neuron
	var stakes []sdkmath.Int
	err := k.walkNeurons(ctx, netuid, func(n types.Neuron, _ sdk.AccAddress, st sdkmath.Int) {
		neurons = append(neurons, n)
		stakes = append(stakes, st)
	})
	return neurons, stakes, err
}

// TopByStake returns, per position of stakes, whether it is among the top
// maxValidators by stake; ties go to the lower index (lower UID). Zero stake
// never earns a permit.
func TopByStake(stakes []sdkmath.Int, maxValidators uint32) []bool {
	order := make([]int, len(stakes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return stakes[order[a]].GT(stakes[order[b]]) })
	permits := make([]bool, len(stakes))
	for rank, i := range order {
		if uint32(rank) >= maxValidators {
			break
		}
		if stakes[i].IsPositive() {
			permits[i] = true
		}
	}
	return permits
}

// UpdateValidatorPermits gives permits to the top max_validators neurons by
// stake and stores them on the neurons, for the next epoch to use.
func (k Keeper) UpdateValidatorPermits(ctx context.Context, netuid uint32) error {
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return err
	}
	neurons, stakes, err := k.NeuronsOf(ctx, netuid)
	if err != nil {
		return err
	}
	permits := TopByStake(stakes, s.Hyperparams.MaxValidators)
	for i, n := range neurons {
		if n.ValidatorPermit == permits[i] {
			continue
		}
		n.ValidatorPermit = permits[i]
		if err := k.Neurons.Set(ctx, collections.Join(netuid, n.Uid), n); err != nil {
			return err
		}
	}
	return nil
}
