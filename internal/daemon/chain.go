package daemon

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
)

// Dialer connects to the chain. The daemons take one so that tests and
// harnesses holding a chain client already can stand in for chain.Dial.
type Dialer func(ctx context.Context, cfg chain.Config) (chain.Chain, error)

// DialChain is chain.Dial as a Dialer. It returns a nil interface on error
// rather than a typed nil *chain.Client, which would compare non-nil.
func DialChain(ctx context.Context, cfg chain.Config) (chain.Chain, error) {
	c, err := chain.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ChainConfig is the chain.Config the common flags describe.
func ChainConfig(c *cli.Context) chain.Config {
	return chain.Config{
		GRPCAddr: c.String(FlagGRPC),
		RPCAddr:  c.String(FlagRPC),
		ChainID:  c.String(FlagChainID),
		GasPrice: c.String(FlagGasPrice),
	}
}
