package subnet

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/meritnet/merit/x/subnet/types"
)

func pos(names ...string) []*autocliv1.PositionalArgDescriptor {
	out := make([]*autocliv1.PositionalArgDescriptor, len(names))
	for i, n := range names {
		out[i] = &autocliv1.PositionalArgDescriptor{ProtoField: n}
	}
	return out
}

// AutoCLIOptions builds `meritd q subnet …` and `meritd tx subnet …` from the services.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/subnet parameters"},
				{RpcMethod: "Subnets", Use: "subnets", Short: "List subnets"},
				{RpcMethod: "Subnet", Use: "subnet [netuid]", Short: "Show a subnet", PositionalArgs: pos("netuid")},
				{RpcMethod: "Hyperparams", Use: "hyperparams [netuid]", Short: "Show a subnet's hyperparameters", PositionalArgs: pos("netuid")},
				{RpcMethod: "Neurons", Use: "neurons [netuid]", Short: "List a subnet's neurons", PositionalArgs: pos("netuid")},
				{RpcMethod: "Neuron", Use: "neuron [netuid] [uid]", Short: "Show a neuron by UID", PositionalArgs: pos("netuid", "uid")},
				{RpcMethod: "NeuronByHotkey", Use: "neuron-by-hotkey [netuid] [hotkey]", Short: "Show the neuron a hotkey holds on a subnet", PositionalArgs: pos("netuid", "hotkey")},
				{RpcMethod: "RegistrationPrice", Use: "registration-price [netuid]", Short: "Show what registering on a subnet costs now", PositionalArgs: pos("netuid")},
				{RpcMethod: "LockCost", Use: "lock-cost", Short: "Show what creating a subnet locks now"},
				{RpcMethod: "StakesByDelegator", Use: "stakes [delegator]", Short: "List a delegator's stakes", PositionalArgs: pos("delegator")},
				{RpcMethod: "StakesByHotkey", Use: "hotkey-stakes [netuid] [hotkey]", Short: "List the stakes on a hotkey on a subnet", PositionalArgs: pos("netuid", "hotkey")},
				{RpcMethod: "Unbondings", Use: "unbondings [delegator]", Short: "List a delegator's pending unbondings", PositionalArgs: pos("delegator")},
				{RpcMethod: "Hotkey", Use: "hotkey [hotkey]", Short: "Show a hotkey's owner and take", PositionalArgs: pos("hotkey")},
				{RpcMethod: "Metagraph", Use: "metagraph [netuid]", Short: "Show every neuron of a subnet with stake, endpoint, permit and epoch results", PositionalArgs: pos("netuid")},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// Only gov may send these; they travel inside a proposal.
				{RpcMethod: "UpdateParams", Skip: true},
				{RpcMethod: "DissolveSubnet", Skip: true},
				{
					RpcMethod: "CreateSubnet", Use: "create-subnet [name] [task-json]",
					Short:          "Create a subnet; --from pays the lock cost (see q subnet lock-cost)",
					Example:        `meritd tx subnet create-subnet demo '{"model_name":"merit-tiny","model_sha256":"<64 hex>","engine_format":"llama2c","max_tokens":64}' --from alice`,
					PositionalArgs: pos("name", "task"),
				},
				{
					RpcMethod: "UpdateSubnetHyperparams", Use: "update-hyperparams [netuid] [hyperparams-json]",
					Short:          "Replace a subnet's hyperparameters (owner, within governance bounds)",
					PositionalArgs: pos("netuid", "hyperparams"),
				},
				{
					RpcMethod: "RegisterNeuron", Use: "register [netuid] [owner] [max-burn]",
					Short:          "Register the --from key as a hotkey on a subnet; it pays the burn, owner receives its rewards",
					PositionalArgs: pos("netuid", "owner", "max_burn"),
				},
				{
					RpcMethod: "ServeEndpoint", Use: "serve-endpoint [netuid] [host:port] [model-id]",
					Short:          "Announce where the --from hotkey serves on a subnet",
					PositionalArgs: pos("netuid", "address", "model_id"),
				},
				{
					RpcMethod: "AddStake", Use: "add-stake [netuid] [hotkey] [amount]",
					Short:          "Stake umerit from --from to a hotkey on a subnet",
					PositionalArgs: pos("netuid", "hotkey", "amount"),
				},
				{
					RpcMethod: "RemoveStake", Use: "remove-stake [netuid] [hotkey] [amount]",
					Short:          "Unstake umerit; it is paid back after the unbonding period",
					PositionalArgs: pos("netuid", "hotkey", "amount"),
				},
				{
					RpcMethod: "SetTake", Use: "set-take [hotkey] [take-bps]",
					Short:          "Set the share of dividends the hotkey owner (--from) keeps, in basis points",
					PositionalArgs: pos("hotkey", "take_bps"),
				},
			},
		},
	}
}
