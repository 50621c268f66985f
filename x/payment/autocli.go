package payment

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/meritnet/merit/x/payment/types"
)

// AutoCLIOptions builds `meritd q payment …` from the Query service; the tx
// commands are hand-written (client/cli) and autocli only enhances them.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/payment parameters"},
				{
					RpcMethod: "Account", Use: "account [id]", Short: "Show an access account",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{
					RpcMethod: "AccountByKey", Use: "account-by-key [key-hash]", Short: "Show the open account of an API key's sha256 (hex)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "key_hash"}},
				},
				{RpcMethod: "Accounts", Use: "accounts", Short: "List access accounts (--payer ADDR for one payer's)"},
				{
					RpcMethod: "SubnetAccounts", Use: "subnet-accounts [netuid]", Short: "List one subnet's access accounts (what its gateways read)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "netuid"}},
				},
				{
					RpcMethod: "Gateways", Use: "gateways [netuid]", Short: "List the subnet's gateways with a validator permit, its price and the fees",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "netuid"}},
				},
				{
					RpcMethod: "Settlement", Use: "settlement [gateway] [account-id]", Short: "Show what a gateway has settled for an account",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "gateway"}, {ProtoField: "account_id"}},
				},
				{
					RpcMethod: "Settlements", Use: "settlements [account-id]", Short: "List an account's settlements, one per gateway",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "account_id"}},
				},
				{
					RpcMethod: "Revenue", Use: "revenue [netuid]", Short: "Show what the subnet's users paid and where it went",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "netuid"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "UpdateParams", Skip: true},
				{RpcMethod: "OpenAccount", Skip: true},
				{RpcMethod: "Deposit", Skip: true},
				{RpcMethod: "UpdateAccount", Skip: true},
				{RpcMethod: "CloseAccount", Skip: true},
				{RpcMethod: "SettleUsage", Skip: true},
				{RpcMethod: "ServeGateway", Skip: true},
			},
		},
	}
}
