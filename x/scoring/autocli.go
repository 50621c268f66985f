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
				{
					RpcMethod: "SetWeights", Use: "set-weights [netuid] [uids] [weights]",
					Short:          "Set the --from validator's weights (subnets without commit-reveal); uids and weights are comma-separated",
					Example:        "meritd tx scoring set-weights 1 0,1,2 65535,30000,0 --from validator",
					PositionalArgs: pos("netuid", "uids", "weights"),
				},
				// Hand-written: computes the hash from uids, weights and salt (client/cli).
				{RpcMethod: "CommitWeights", Skip: true},
				{
					RpcMethod: "RevealWeights", Use: "reveal-weights [netuid] [uids] [weights] [salt]",
					Short:          "Reveal committed weights in the reveal window; salt in hex, as committed",
					PositionalArgs: pos("netuid", "uids", "weights", "salt"),
				},
			},
		},
	}
}
