package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reads for auditing the network to the umerit: values at a given height,
// and the events each block emitted, so a test can tie every change of a
// balance or total to the event that caused it.

// SetValidatorFlags makes a validator run with extra flags (none: the
// topology's own) from its next StartProc.
func (top *Topology) SetValidatorFlags(v *Proc, extra ...string) {
	v.args = append(top.validatorArgs(v), extra...)
}

// WaitServing waits until a (re)started daemon answers /healthz.
func (top *Topology) WaitServing(p *Proc, timeout time.Duration) {
	top.T.Helper()
	top.waitHTTP(p, "/healthz", timeout)
}

// Home is a daemon's --home.
func (top *Topology) Home(p *Proc) string { return top.common(p)[1] }

// BalanceAt is a key's umerit balance at a height (0: the latest).
func (top *Topology) BalanceAt(name string, height int64) (int64, error) {
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	if err := top.rest(&res, "/cosmos/bank/v1beta1/balances/"+top.Addr[name]+"/by_denom?denom=umerit", height); err != nil {
		return 0, err
	}
	return atoi(res.Balance.Amount), nil
}

// Totals are the chain-wide issuance totals at one height, umerit.
type Totals struct {
	Supply, Issued, Burned int64
}

// TotalsAt reads the bank supply and x/emission's issued and burned totals at a height.
func (top *Topology) TotalsAt(height int64) (Totals, error) {
	var sup struct {
		Amount struct {
			Amount string `json:"amount"`
		} `json:"amount"`
	}
	if err := top.rest(&sup, "/cosmos/bank/v1beta1/supply/by_denom?denom=umerit", height); err != nil {
		return Totals{}, err
	}
	var iss struct {
		TotalIssued string `json:"total_issued"`
		TotalBurned string `json:"total_burned"`
	}
	if err := top.rest(&iss, "/merit/emission/v1/total_issued", height); err != nil {
		return Totals{}, err
	}
	return Totals{Supply: atoi(sup.Amount.Amount), Issued: atoi(iss.TotalIssued), Burned: atoi(iss.TotalBurned)}, nil
}

// SecurityShareBps is x/emission's chain-security share of each block reward.
func (top *Topology) SecurityShareBps() (int64, error) {
	var res struct {
		Params struct {
			Bps json.Number `json:"chain_security_share_bps"`
		} `json:"params"`
	}
	if err := top.rest(&res, "/merit/emission/v1/params", 0); err != nil {
		return 0, err
	}
	return res.Params.Bps.Int64()
}

// PaymentParams are the x/payment parameters a test checks against.
type PaymentParams struct {
	MinDeposit, CloseGraceBlocks, GatewayFeeBps, BurnBps int64
}

// PaymentParams reads x/payment's parameters.
func (top *Topology) PaymentParams() (PaymentParams, error) {
	var res struct {
		Params struct {
			MinDeposit string      `json:"min_deposit"`
			Grace      string      `json:"close_grace_blocks"`
			FeeBps     json.Number `json:"gateway_fee_bps"`
			BurnBps    json.Number `json:"burn_bps"`
		} `json:"params"`
	}
	if err := top.rest(&res, "/merit/payment/v1/params", 0); err != nil {
		return PaymentParams{}, err
	}
	fee, _ := res.Params.FeeBps.Int64()
	burn, _ := res.Params.BurnBps.Int64()
	return PaymentParams{MinDeposit: atoi(res.Params.MinDeposit), CloseGraceBlocks: atoi(res.Params.Grace), GatewayFeeBps: fee, BurnBps: burn}, nil
}

// Settlement is the chain's record of one gateway's counters for one account.
type Settlement struct {
	Tokens, Requests   int64
	Charged, Shortfall int64
	Remainder          int64
	UpdatedAt          int64
}

// Settlement reads the record of a gateway hotkey (key name) for an
// account at a height (0: the latest); found is false before its first settlement.
func (top *Topology) Settlement(gateway string, account uint64, height int64) (s Settlement, found bool, err error) {
	var res struct {
		Settlement struct {
			Tokens    string `json:"tokens"`
			Requests  string `json:"requests"`
			Remainder string `json:"remainder"`
			Charged   string `json:"charged"`
			Shortfall string `json:"shortfall"`
			UpdatedAt string `json:"updated_at"`
		} `json:"settlement"`
	}
	err = top.rest(&res, fmt.Sprintf("/merit/payment/v1/settlements/%s/%d", top.Addr[gateway], account), height)
	if err != nil {
		if strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "404") {
			return Settlement{}, false, nil
		}
		return Settlement{}, false, err
	}
	r := res.Settlement
	return Settlement{Tokens: atoi(r.Tokens), Requests: atoi(r.Requests), Charged: atoi(r.Charged),
		Shortfall: atoi(r.Shortfall), Remainder: atoi(r.Remainder), UpdatedAt: atoi(r.UpdatedAt)}, true, nil
}

// AccountGone reports whether an access account no longer exists at a
// height (refunded and removed).
func (top *Topology) AccountGone(id uint64, height int64) (bool, error) {
	_, err := top.Account(id, height)
	if err == nil {
		return false, nil
	}
	if strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "404") {
		return true, nil
	}
	return false, err
}

// Gateways lists the gateway URLs subnet 1 announces, by hotkey address.
func (top *Topology) Gateways() (map[string]string, error) {
	var res struct {
		Gateways []struct {
			Hotkey string `json:"hotkey"`
			URL    string `json:"url"`
		} `json:"gateways"`
	}
	if err := top.rest(&res, "/merit/payment/v1/subnets/1/gateways", 0); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range res.Gateways {
		out[g.Hotkey] = g.URL
	}
	return out, nil
}

// NeuronPayout is one neuron's payout at one epoch (x/emission history).
type NeuronPayout struct {
	Hotkey           string
	Miner, Validator int64
}

// EpochHistory reads every neuron's payout record of the epoch that ran at a block.
func (top *Topology) EpochHistory(block int64) ([]NeuronPayout, error) {
	mg, _, err := top.Metagraph()
	if err != nil {
		return nil, err
	}
	var out []NeuronPayout
	for _, n := range mg {
		var res struct {
			Records []struct {
				Block     string `json:"block"`
				Hotkey    string `json:"hotkey"`
				Miner     string `json:"miner"`
				Validator string `json:"validator"`
			} `json:"records"`
		}
		if err := top.rest(&res, fmt.Sprintf("/merit/emission/v1/subnets/1/neurons/%d/history", n.UID), 0); err != nil {
			return nil, err
		}
		for _, r := range res.Records {
			if atoi(r.Block) == block && r.Hotkey == n.Hotkey {
				out = append(out, NeuronPayout{Hotkey: r.Hotkey, Miner: atoi(r.Miner), Validator: atoi(r.Validator)})
			}
		}
	}
	return out, nil
}

// Event is one event a block emitted (in a transaction or at its end),
// with its attributes unquoted.
type Event struct {
	Height int64
	Type   string
	Attrs  map[string]string
}

// Int is an integer attribute (0 when absent).
func (e Event) Int(key string) int64 { return atoi(e.Attrs[key]) }

// BlockEvents reads the events of one block from the node's RPC.
func (top *Topology) BlockEvents(height int64) ([]Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/block_results?height=%d", top.Chain.RPC, height), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	type rawEvent struct {
		Type       string `json:"type"`
		Attributes []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"attributes"`
	}
	var res struct {
		Result struct {
			Txs []struct {
				Code   int        `json:"code"`
				Events []rawEvent `json:"events"`
			} `json:"txs_results"`
			Finalize []rawEvent `json:"finalize_block_events"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("block_results %d: %w", height, err)
	}
	if len(res.Error) > 0 && string(res.Error) != "null" {
		return nil, fmt.Errorf("block_results %d: %s", height, res.Error)
	}
	conv := func(r rawEvent) Event {
		e := Event{Height: height, Type: r.Type, Attrs: map[string]string{}}
		for _, a := range r.Attributes {
			v := a.Value
			// Typed events carry JSON values: strings (and 64-bit integers) quoted.
			if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
				v = u
			}
			e.Attrs[a.Key] = v
		}
		return e
	}
	var out []Event
	for _, tx := range res.Result.Txs {
		if tx.Code != 0 {
			continue // a failed transaction changed nothing
		}
		for _, r := range tx.Events {
			out = append(out, conv(r))
		}
	}
	for _, r := range res.Result.Finalize {
		out = append(out, conv(r))
	}
	return out, nil
}

// EventsOf collects the events of one type over blocks [from, to].
func (top *Topology) EventsOf(typ string, from, to int64) ([]Event, error) {
	var out []Event
	for h := from; h <= to; h++ {
		evs, err := top.BlockEvents(h)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Type == typ {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// CloseAt is the block after which a closing account is refunded (0: open).
func (top *Topology) CloseAt(id uint64) (int64, error) {
	var res struct {
		Account struct {
			CloseAt string `json:"close_at"`
		} `json:"account"`
	}
	if err := top.rest(&res, fmt.Sprintf("/merit/payment/v1/accounts/%d", id), 0); err != nil {
		return 0, err
	}
	return atoi(res.Account.CloseAt), nil
}
