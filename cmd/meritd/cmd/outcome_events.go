package cmd

// txEventLine turns one event of an included tx into a line for a person:
// mostly the id the tx created, which the next command needs.
type txEventLine struct {
	// Event is the ABCI event type: a typed event's full proto name, or an SDK
	// module's plain event type.
	Event string
	// Format names attributes in braces; every name must be an attribute of
	// Event (TestTxEventLinesMatchEvents checks typed events against their
	// proto messages).
	Format string
}

// txEventLines is the table the tx printer reads, in the order lines are
// printed. A module whose txs create ids adds its events here.
var txEventLines = []txEventLine{
	{"merit.subnet.v1.EventSubnetCreated", "created subnet: netuid {netuid} ({name}), locked {locked}umerit"},
	{"merit.subnet.v1.EventNeuronRegistered", "registered {hotkey} on subnet {netuid}: UID {uid}, burned {burned}umerit"},
	{"merit.subnet.v1.EventEndpointServed", "endpoint of UID {uid} on subnet {netuid}: {address} ({model_id})"},
	{"merit.subnet.v1.EventStakeAdded", "staked {amount}umerit on {hotkey} on subnet {netuid}"},
	{"merit.subnet.v1.EventStakeRemoved", "unstaking {amount}umerit from {hotkey} on subnet {netuid}: unbonding id {unbonding_id}, paid at block {completes_at}"},
	{"merit.subnet.v1.EventTakeSet", "take of {hotkey}: {take_bps} bps"},
	{"merit.subnet.v1.EventHyperparamsUpdated", "updated the hyperparameters of subnet {netuid}"},
	{"merit.scoring.v1.EventWeightsSet", "weights of UID {uid} on subnet {netuid} set: {count} entries"},
	{"merit.scoring.v1.EventWeightsCommitted", "weights of UID {uid} on subnet {netuid} committed in epoch {commit_epoch}"},
	{"merit.payment.v1.EventAccountOpened", "opened payment account: id {account_id} on subnet {netuid}, deposit {deposit}umerit"},
	{"merit.payment.v1.EventDeposit", "deposited {amount}umerit into payment account {account_id}: balance {balance}umerit"},
	{"merit.payment.v1.EventAccountUpdated", "updated payment account {account_id}: key hash {key_hash}, spend limit {spend_limit_per_epoch}umerit per epoch"},
	{"merit.payment.v1.EventAccountClosing", "payment account {account_id} closes at block {close_at}"},
	{"merit.payment.v1.EventUsageCharged", "account {account_id}: {tokens} tokens, charged {charged}umerit (shortfall {shortfall}), balance {balance}umerit"},
	{"merit.payment.v1.EventUsageRefused", "account {account_id}: refused: {reason}"},
	{"merit.payment.v1.EventGatewayServed", "gateway of {hotkey} on subnet {netuid}: {url}"},
	{"submit_proposal", "submitted proposal: id {proposal_id}"},
}
