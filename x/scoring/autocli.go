package scoring

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/meritnet/merit/x/scoring/types"
)

func pos(names ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(names))
	for i, n := range names {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: n}
	}
	return out
}

// AutoCLIOptions builds `meritd q scoring …` and `meritd tx scoring …` from the services.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Query_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/scoring parameters"},
				{RpcMethod: "Weights", Use: "weights [netuid] [uid]", Short: "Show a validator's stored weights", PositionalArgs: pos("netuid", "uid")},
				{RpcMethod: "Bonds", Use: "bonds [netuid] [uid]", Short: "Show a validator's bonds (Q32.32 fractions)", PositionalArgs: pos("netuid", "uid")},
				{RpcMethod: "Commits", Use: "commits [netuid] [hotkey]", Short: "Show a hotkey's unrevealed weight commits", PositionalArgs: pos("netuid", "hotkey")},
				{RpcMethod: "EpochState", Use: "epoch [netuid]", Short: "Show a subnet's epoch counter and next epoch block", PositionalArgs: pos("netuid")},
				// Hand-written: reads the scenario from --file (client/cli).
				{RpcMethod: "Simulate", Skip: true},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "UpdateParams", Skip: true},
				// Hand-written (client/cli): autocli cannot bind repeated uint32, and
				// commit-weights hashes locally.
				{RpcMethod: "SetWeights", Skip: true},
				{RpcMethod: "CommitWeights", Skip: true},
				{RpcMethod: "RevealWeights", Skip: true},
			},
		},
	}
}
