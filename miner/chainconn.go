package miner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/daemon"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var addressCodec = address.NewBech32Codec(identity.Bech32Prefix)

// dialFromFlags dials with a hint about the flags when the node is not there.
func dialFromFlags(c *cli.Context, dial daemon.Dialer) (chain.Chain, error) {
	ch, err := dial(c.Context, daemon.ChainConfig(c))
	if err != nil {
		if errors.Is(err, chain.ErrUnreachable) {
			return nil, fmt.Errorf("%w (is meritd running? check --%s %s and --%s %s)", err, daemon.FlagGRPC, c.String(daemon.FlagGRPC), daemon.FlagRPC, c.String(daemon.FlagRPC))
		}
		return nil, err
	}
	return ch, nil
}

// netuidFlag reads --netuid as the uint32 the chain uses.
func netuidFlag(c *cli.Context) (uint32, error) {
	n := c.Uint(daemon.FlagNetuid)
	if uint64(n) > uint64(^uint32(0)) {
		return 0, fmt.Errorf("--%s %d is out of range", daemon.FlagNetuid, n)
	}
	return uint32(n), nil
}

// findNeuron is the hotkey's row in a metagraph, or nil.
func findNeuron(mg *subnettypes.QueryMetagraphResponse, hotkey string) *subnettypes.MetagraphNeuron {
	if mg == nil {
		return nil
	}
	for i := range mg.Neurons {
		if mg.Neurons[i].Neuron.Hotkey == hotkey {
			return &mg.Neurons[i]
		}
	}
	return nil
}

// isNotFound reports a query for something the chain does not have: the
// query server answers gRPC NotFound, which the chain client reports as
// chain.ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, chain.ErrNotFound) }

// isRateLimited reports the chain refusing an endpoint update made too
// soon after the last one (serving_rate_limit).
func isRateLimited(err error) bool {
	return errors.Is(err, subnettypes.ErrRateLimited) || (err != nil && strings.Contains(err.Error(), subnettypes.ErrRateLimited.Error()))
}

// notRegisteredError explains how to register.
func notRegisteredError(hotkey string, netuid uint32) error {
	return fmt.Errorf("hotkey %s is not registered on subnet %d; register it first: "+
		"merit-miner register --hotkey NAME --netuid %d --owner OWNER --max-burn UMERIT", hotkey, netuid, netuid)
}
