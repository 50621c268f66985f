package emission

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/meritnet/merit/x/emission/types"
)

// AutoCLIOptions builds `meritd q emission …` and `meritd tx emission …` from the services.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Query_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/emission parameters"},
				{RpcMethod: "BlockReward", Use: "block-reward", Short: "Show the next block's reward under the halving schedule"},
				{RpcMethod: "TotalIssued", Use: "total-issued", Short: "Show the umerit issued so far, the supply cap, and the umerit burned by registrations"},
				{RpcMethod: "Subnets", Use: "subnets", Short: "Show each subnet's pending emission, stake EMA and share"},
				{
					RpcMethod: "NeuronHistory", Use: "history [netuid] [uid]", Short: "Show a neuron's payouts over the last epochs",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "netuid"}, {ProtoField: "uid"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// Only gov may send it; it is submitted inside a proposal, not directly.
				{RpcMethod: "UpdateParams", Skip: true},
			},
		},
	}
}
