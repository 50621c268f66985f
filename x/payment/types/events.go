package types

import (
	"encoding/json"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// ToEvent encodes the event exactly as sdk.TypedEventToEvent does (same type,
// keys in sorted order, jsonpb values), so clients parse it with
// sdk.ParseTypedEvent, at a small fraction of the cost: a settlement emits one
// per item, and jsonpb through reflection dominated a 1,000-item message.
// TestUsageChargedEventMatchesTyped keeps the two encodings identical.
func (e *EventUsageCharged) ToEvent() sdk.Event {
	u64 := func(v uint64) string { return `"` + strconv.FormatUint(v, 10) + `"` }
	str := func(s string) string { bz, _ := json.Marshal(s); return string(bz) }
	return sdk.Event{
		Type: "merit.payment.v1.EventUsageCharged",
		Attributes: []abci.EventAttribute{
			{Key: "account_id", Value: u64(e.AccountId)},
			{Key: "balance", Value: str(e.Balance.String())},
			{Key: "burned", Value: str(e.Burned.String())},
			{Key: "charged", Value: str(e.Charged.String())},
			{Key: "cumulative_requests", Value: u64(e.CumulativeRequests)},
			{Key: "cumulative_tokens", Value: u64(e.CumulativeTokens)},
			{Key: "gateway", Value: str(e.Gateway)},
			{Key: "gateway_fee", Value: str(e.GatewayFee.String())},
			{Key: "netuid", Value: strconv.FormatUint(uint64(e.Netuid), 10)},
			{Key: "price", Value: u64(e.Price)},
			{Key: "requests", Value: u64(e.Requests)},
			{Key: "shortfall", Value: str(e.Shortfall.String())},
			{Key: "to_subnet", Value: str(e.ToSubnet.String())},
			{Key: "tokens", Value: u64(e.Tokens)},
		},
	}
}
