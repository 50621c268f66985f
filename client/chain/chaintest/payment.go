package chaintest

import (
	"context"
	"fmt"
	"maps"
	"slices"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/gogoproto/proto"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/chain"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// PaymentState is the fake's x/payment: accounts by id, settlement records
// by gateway and account, gateway URLs by hotkey. Settlement follows the
// module's rules for what a gateway sees (cumulative counters, floor
// rounding with a carried remainder, charges capped by the balance,
// refusals by item), without the revenue split.
type PaymentState struct {
	Accounts    map[uint64]*paymenttypes.Account
	Settlements map[string]map[uint64]*paymenttypes.Settlement
	Gateways    map[string]string
}

func (p PaymentState) clone() PaymentState {
	out := PaymentState{Accounts: map[uint64]*paymenttypes.Account{}, Settlements: map[string]map[uint64]*paymenttypes.Settlement{},
		Gateways: maps.Clone(p.Gateways)}
	for id, a := range p.Accounts {
		c := *a
		out.Accounts[id] = &c
	}
	for gw, recs := range p.Settlements {
		out.Settlements[gw] = map[uint64]*paymenttypes.Settlement{}
		for id, r := range recs {
			c := *r
			out.Settlements[gw][id] = &c
		}
	}
	return out
}

// AddAccount opens an access account on the fake's subnet for the key
// hash (lowercase hex sha256) with balance umerit, and returns its id.
func (f *Chain) AddAccount(keyHash string, balance int64) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Payment.Accounts == nil {
		f.st.Payment.Accounts = map[uint64]*paymenttypes.Account{}
	}
	id := uint64(len(f.st.Payment.Accounts) + 1)
	f.st.Payment.Accounts[id] = &paymenttypes.Account{Id: id, Netuid: f.st.Subnet.Netuid, KeyHash: keyHash,
		Balance: sdkmath.NewInt(balance), SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt(), CreatedAt: f.st.Height}
	return id
}

// PaymentAccounts implements chain.PaymentReader.
func (f *Chain) PaymentAccounts(_ context.Context, netuid uint32) ([]paymenttypes.Account, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return nil, 0, ErrDown
	}
	var out []paymenttypes.Account
	for _, id := range slices.Sorted(maps.Keys(f.st.Payment.Accounts)) {
		if a := f.st.Payment.Accounts[id]; a.Netuid == netuid {
			out = append(out, *a)
		}
	}
	return out, f.st.Height, nil
}

// PaymentChanges implements chain.PaymentReader without events: it names
// every account id it ever held, which brings any copy up to date.
func (f *Chain) PaymentChanges(_ context.Context, since int64, maxBlocks int) ([]uint64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return nil, 0, ErrDown
	}
	if f.st.Height-since > int64(maxBlocks) {
		return nil, f.st.Height, chain.ErrTooFar
	}
	for id := range f.st.Payment.Accounts {
		f.maxAccount = max(f.maxAccount, id)
	}
	ids := make([]uint64, 0, f.maxAccount)
	for id := uint64(1); id <= f.maxAccount; id++ {
		ids = append(ids, id)
	}
	return ids, f.st.Height, nil
}

// PaymentAccountsByID implements chain.PaymentReader (at the fake's only
// height, its current one).
func (f *Chain) PaymentAccountsByID(_ context.Context, ids []uint64, _ int64) (found []paymenttypes.Account, missing []uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return nil, nil, ErrDown
	}
	for _, id := range ids {
		if a, ok := f.st.Payment.Accounts[id]; ok {
			found = append(found, *a)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing, nil
}

// PaymentSettlement implements chain.PaymentReader.
func (f *Chain) PaymentSettlement(_ context.Context, gateway string, id uint64) (paymenttypes.Settlement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return paymenttypes.Settlement{}, ErrDown
	}
	if r, ok := f.st.Payment.Settlements[gateway][id]; ok {
		return *r, nil
	}
	return paymenttypes.Settlement{}, fmt.Errorf("%w: settlement of %d by %s", chain.ErrNotFound, id, gateway)
}

// PaymentParams implements chain.PaymentReader: the module's defaults.
func (f *Chain) PaymentParams(context.Context) (paymenttypes.Params, error) {
	return paymenttypes.DefaultParams(), nil
}

// PaymentGateways implements chain.PaymentReader.
func (f *Chain) PaymentGateways(_ context.Context, netuid uint32) (*paymenttypes.QueryGatewaysResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return nil, err
	}
	res := &paymenttypes.QueryGatewaysResponse{PricePerMillionTokens: f.st.Subnet.Hyperparams.PricePerMillionTokens}
	for _, n := range f.st.Neurons {
		if url, ok := f.st.Payment.Gateways[n.Neuron.Hotkey]; ok && n.Neuron.ValidatorPermit {
			res.Gateways = append(res.Gateways, paymenttypes.GatewayInfo{Hotkey: n.Neuron.Hotkey, Uid: n.Neuron.Uid, Url: url, Stake: sdkmath.ZeroInt()})
		}
	}
	return res, nil
}

// applyPayment runs x/payment's messages; ok is false for other messages.
func (f *Chain) applyPayment(m sdk.Msg, _ int64) (res proto.Message, ok bool, err error) {
	switch msg := m.(type) {
	case *paymenttypes.MsgServeGateway:
		if _, err := f.neuronOf(msg.Hotkey); err != nil {
			return nil, true, err
		}
		if f.st.Payment.Gateways == nil {
			f.st.Payment.Gateways = map[string]string{}
		}
		f.st.Payment.Gateways[msg.Hotkey] = msg.Url
		return &paymenttypes.MsgServeGatewayResponse{}, true, nil
	case *paymenttypes.MsgSettleUsage:
		n, err := f.neuronOf(msg.Gateway)
		if err != nil {
			return nil, true, err
		}
		if !n.Neuron.ValidatorPermit {
			return nil, true, paymenttypes.ErrNoPermit.Wrapf("%s", msg.Gateway)
		}
		return f.settle(msg), true, nil
	}
	return nil, false, nil
}

func (f *Chain) settle(msg *paymenttypes.MsgSettleUsage) *paymenttypes.MsgSettleUsageResponse {
	if f.st.Payment.Settlements == nil {
		f.st.Payment.Settlements = map[string]map[uint64]*paymenttypes.Settlement{}
	}
	recs := f.st.Payment.Settlements[msg.Gateway]
	if recs == nil {
		recs = map[uint64]*paymenttypes.Settlement{}
		f.st.Payment.Settlements[msg.Gateway] = recs
	}
	price := f.st.Subnet.Hyperparams.PricePerMillionTokens
	resp := &paymenttypes.MsgSettleUsageResponse{Charged: sdkmath.ZeroInt()}
	for _, it := range msg.Items {
		r := paymenttypes.ItemResult{AccountId: it.AccountId, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt()}
		a, ok := f.st.Payment.Accounts[it.AccountId]
		rec := recs[it.AccountId]
		if rec == nil {
			rec = &paymenttypes.Settlement{Gateway: msg.Gateway, AccountId: it.AccountId, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt()}
		}
		switch {
		case !ok:
			r.Refused = "unknown account"
		case it.CumulativeTokens < rec.Tokens || it.CumulativeRequests < rec.Requests:
			r.Refused = fmt.Sprintf("counters went backwards: settled %d tokens / %d requests, reported %d / %d",
				rec.Tokens, rec.Requests, it.CumulativeTokens, it.CumulativeRequests)
		default:
			cost, rem := paymenttypes.PriceUsage(it.CumulativeTokens-rec.Tokens, price, rec.Remainder)
			charge := sdkmath.MinInt(cost, a.Balance)
			r.Charged, r.Shortfall = charge, cost.Sub(charge)
			if r.Shortfall.IsPositive() {
				rem = 0
			}
			a.Balance = a.Balance.Sub(charge)
			rec.Tokens, rec.Requests, rec.Remainder = it.CumulativeTokens, it.CumulativeRequests, rem
			rec.Charged, rec.Shortfall, rec.UpdatedAt = rec.Charged.Add(charge), rec.Shortfall.Add(r.Shortfall), f.st.Height+1
			recs[it.AccountId] = rec
			resp.Charged = resp.Charged.Add(charge)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}
