package scoring

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/meritnet/merit/x/scoring/types"
)

// AutoCLIOptions builds `meritd q scoring …` and `meritd tx scoring …` from the services.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/scoring parameters"},
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
