package cmd

import (
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	serverconfig "github.com/cosmos/cosmos-sdk/server/config"

	"github.com/meritnet/merit/app"
)

// Loopback defaults: a fresh node listens only on this machine. Operators of a
// public node open p2p (and, if they choose, RPC/API/gRPC) in their config.
const (
	DefaultP2PAddress  = "tcp://127.0.0.1:26656"
	DefaultRPCAddress  = "tcp://127.0.0.1:26657"
	DefaultAPIAddress  = "tcp://127.0.0.1:1317"
	DefaultGRPCAddress = "127.0.0.1:9090"
	// DefaultBlockTime is the commit timeout written by `meritd init`; with one
	// validator it is the block time (the SDK's own default is 5 s).
	DefaultBlockTime = time.Second
)

// cometConfig is the config.toml `meritd init` writes.
func cometConfig() *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig()
	cfg.Consensus.TimeoutCommit = DefaultBlockTime
	cfg.P2P.ListenAddress = DefaultP2PAddress
	cfg.RPC.ListenAddress = DefaultRPCAddress
	return cfg
}

// appConfig is the app.toml `meritd init` writes: REST and gRPC on, on loopback.
func appConfig() (template string, config any) {
	cfg := serverconfig.DefaultConfig()
	cfg.MinGasPrices = "0" + app.BondDenom
	cfg.API.Enable = true
	cfg.API.Address = DefaultAPIAddress
	cfg.GRPC.Enable = true
	cfg.GRPC.Address = DefaultGRPCAddress
	return serverconfig.DefaultConfigTemplate, cfg
}
