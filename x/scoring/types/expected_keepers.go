package types

import (
	"context"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// SubnetKeeper is what x/scoring reads and writes in x/subnet.
type SubnetKeeper interface {
	GetSubnet(ctx context.Context, netuid uint32) (subnettypes.Subnet, error)
	IterateSubnets(ctx context.Context, fn func(subnettypes.Subnet) (stop bool, err error)) error
	NeuronByHotkey(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) (subnettypes.Neuron, error)
	NeuronsOf(ctx context.Context, netuid uint32) ([]subnettypes.Neuron, []sdkmath.Int, error)
	SetNeuron(ctx context.Context, netuid uint32, n subnettypes.Neuron) error
}

// EpochPayout is one subnet epoch's money: the owner cut and each UID's
// miner and validator amounts (umerit, UID order).
type EpochPayout struct {
	Netuid    uint32
	Epoch     uint64
	Block     int64
	Owner     string
	OwnerCut  sdkmath.Int
	Neurons   []subnettypes.Neuron
	Miner     []uint64
	Validator []uint64
	// Unallocated could not be paid to anyone (no stake at all) and goes back to the subnet's pending emission.
	Unallocated uint64
}

// EmissionKeeper is the narrow interface through which an epoch takes the
// subnet's accrued emission and hands back who gets what.
type EmissionKeeper interface {
	TakeSubnetPending(ctx context.Context, netuid uint32) (sdkmath.Int, error)
	PayEpoch(ctx context.Context, p EpochPayout) error
}
