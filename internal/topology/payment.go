package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/types/bech32"
	grpctypes "github.com/cosmos/cosmos-sdk/types/grpc"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/meritnet/merit/client/chain"
	paymentcli "github.com/meritnet/merit/x/payment/client/cli"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// PaidAccount is an x/payment access account opened by the topology.
type PaidAccount struct {
	ID      uint64
	APIKey  string // the bearer key; the chain holds only its sha256
	KeyHash string
}

// OpenAccount opens an access account on subnet 1 for the key payer with
// deposit umerit and a fresh key, as a user would with `meritd tx payment
// open-account 1 DEPOSIT --new-key`: the key is read from what the CLI
// prints once, and the account's id from the chain by the key's hash.
func (top *Topology) OpenAccount(payer string, deposit int64) (PaidAccount, error) {
	out, err := top.txOutput("payment", "open-account", "1", fmt.Sprintf("%dumerit", deposit), "--new-key", "--from", payer)
	if err != nil {
		return PaidAccount{}, err
	}
	key := ""
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "api_key: "); ok {
			key = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(key, paymentcli.APIKeyPrefix) {
		return PaidAccount{}, fmt.Errorf("open-account printed no api_key line:\n%s", out)
	}
	acc := PaidAccount{APIKey: key, KeyHash: paymentcli.HashAPIKey(key)}
	var res struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if err := top.Query(&res, "payment", "account-by-key", acc.KeyHash); err != nil {
		return PaidAccount{}, err
	}
	if acc.ID, err = strconv.ParseUint(res.Account.ID, 10, 64); err != nil {
		return PaidAccount{}, fmt.Errorf("account-by-key %s: id %q", acc.KeyHash, res.Account.ID)
	}
	return acc, nil
}

// WaitKeyKnown waits until each gateway accepts acct's key. A gateway
// learns of a new account a block or two after the block that opened it and
// answers 401 until then; GET /v1/models checks a key without billing.
func (top *Topology) WaitKeyKnown(acct PaidAccount, timeout time.Duration, gateways ...*Proc) error {
	deadline := time.Now().Add(timeout)
	for _, v := range gateways {
		for {
			status := getStatus(top.GatewayURL(v)+"/models", acct.APIKey)
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not accept the key of account %d after %s (GET /v1/models: %d)", v.Name, acct.ID, timeout, status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// AccountState is an access account's balance and whether it is closing.
type AccountState struct {
	Balance int64
	Closing bool
}

// Account reads an access account at a height (0: the latest).
func (top *Topology) Account(id uint64, height int64) (AccountState, error) {
	var res struct {
		Account struct {
			Balance string `json:"balance"`
			Closing bool   `json:"closing"`
		} `json:"account"`
	}
	if err := top.rest(&res, fmt.Sprintf("/merit/payment/v1/accounts/%d", id), height); err != nil {
		return AccountState{}, err
	}
	b, err := strconv.ParseInt(res.Account.Balance, 10, 64)
	if err != nil {
		return AccountState{}, fmt.Errorf("account %d: balance %q", id, res.Account.Balance)
	}
	return AccountState{Balance: b, Closing: res.Account.Closing}, nil
}

// SubnetFlows are subnet 1's lifetime totals in x/emission and x/payment at
// one height, umerit. Revenue is the users' payments that reached the
// subnet's payout (charged − gateway fees − burn); Paid is everything its
// epochs paid out, emission and revenue together.
type SubnetFlows struct {
	Height                                 int64
	Pending, Paid, Revenue                 int64
	Charged, GatewayFees, Burned, ToSubnet int64
	Shortfall, Tokens                      int64
}

// Flows reads subnet 1's totals at a height (0: the latest).
func (top *Topology) Flows(height int64) (SubnetFlows, error) {
	var em struct {
		Subnets []struct {
			Netuid  uint32 `json:"netuid"`
			Pending string `json:"pending"`
			Paid    string `json:"paid"`
			Revenue string `json:"revenue"`
		} `json:"subnets"`
	}
	// Over REST: the CLI cannot print this response as JSON (autocli fails
	// on its repeated cosmos.Int fields).
	if err := top.rest(&em, "/merit/emission/v1/subnets", height); err != nil {
		return SubnetFlows{}, err
	}
	var pay struct {
		Revenue struct {
			Charged     string `json:"charged"`
			GatewayFees string `json:"gateway_fees"`
			Burned      string `json:"burned"`
			ToSubnet    string `json:"to_subnet"`
			Shortfall   string `json:"shortfall"`
			Tokens      string `json:"tokens"`
		} `json:"revenue"`
	}
	if err := top.rest(&pay, "/merit/payment/v1/subnets/1/revenue", height); err != nil {
		return SubnetFlows{}, err
	}
	f := SubnetFlows{Height: height}
	for _, s := range em.Subnets {
		if s.Netuid == 1 {
			f.Pending, f.Paid, f.Revenue = atoi(s.Pending), atoi(s.Paid), atoi(s.Revenue)
		}
	}
	r := pay.Revenue
	f.Charged, f.GatewayFees, f.Burned, f.ToSubnet = atoi(r.Charged), atoi(r.GatewayFees), atoi(r.Burned), atoi(r.ToSubnet)
	f.Shortfall, f.Tokens = atoi(r.Shortfall), atoi(r.Tokens)
	return f, nil
}

// PaymentHeld is what x/payment's module account holds at a height (0:
// the latest): the balances of the accounts open or closing.
func (top *Topology) PaymentHeld(height int64) (int64, error) {
	addr, err := bech32.ConvertAndEncode(chain.AccountPrefix, authtypes.NewModuleAddress(paymenttypes.ModuleName))
	if err != nil {
		return 0, err
	}
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	if err := top.rest(&res, "/cosmos/bank/v1beta1/balances/"+addr+"/by_denom?denom=umerit", height); err != nil {
		return 0, err
	}
	return atoi(res.Balance.Amount), nil
}

// GatewayURL is the OpenAI base URL of a validator's gateway.
func (top *Topology) GatewayURL(v *Proc) string { return "http://" + v.Listen + "/v1" }

// rest GETs a path of the node's REST API at a height (0: the latest) and
// decodes the JSON: a query without starting a meritd process.
func (top *Topology) rest(out any, path string, height int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, top.Chain.API+path, nil)
	if err != nil {
		return err
	}
	if height > 0 {
		req.Header.Set(grpctypes.GRPCBlockHeightHeader, strconv.FormatInt(height, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s at height %d: %s: %s", path, height, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	return nil
}

// atoi reads the chain's decimal integers; an empty field (proto3 zero) is 0.
func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

// AccountsHeld is the sum of every access account's balance at a height
// (0: the latest) and how many accounts there are: what x/payment must
// hold, whoever opened them (a person trying the demo opens their own).
func (top *Topology) AccountsHeld(height int64) (sum int64, n int, err error) {
	next := ""
	for range 1000 {
		var res struct {
			Accounts []struct {
				Balance string `json:"balance"`
			} `json:"accounts"`
			Pagination struct {
				NextKey string `json:"next_key"`
			} `json:"pagination"`
		}
		path := "/merit/payment/v1/accounts?pagination.limit=500"
		if next != "" {
			path += "&pagination.key=" + url.QueryEscape(next)
		}
		if err := top.rest(&res, path, height); err != nil {
			return 0, 0, err
		}
		for _, a := range res.Accounts {
			sum += atoi(a.Balance)
			n++
		}
		if next = res.Pagination.NextKey; next == "" {
			return sum, n, nil
		}
	}
	return 0, 0, fmt.Errorf("more than 500,000 payment accounts")
}
