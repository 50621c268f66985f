package topology

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tx runs `meritd tx <args>` on the chain, waits until it is in a block and
// fails the caller if it did not succeed.
func (top *Topology) Tx(args ...string) {
	top.T.Helper()
	if err := top.TryTx(args...); err != nil {
		top.T.Fatal(err)
	}
}

// TryTx is Tx returning the error.
func (top *Topology) TryTx(args ...string) error {
	out, err := top.Chain.Exec(append(append([]string{"tx"}, args...), "--output", "json", "--gas", "auto", "--gas-adjustment", "1.5")...)
	if err != nil {
		return fmt.Errorf("tx %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var res struct {
		TxHash string `json:"txhash"`
		Code   int    `json:"code"`
		RawLog string `json:"raw_log"`
	}
	if err := json.Unmarshal([]byte(lastJSON(out)), &res); err != nil {
		return fmt.Errorf("tx %s: unreadable response %q", strings.Join(args, " "), out)
	}
	if res.Code != 0 {
		return fmt.Errorf("tx %s: check failed, code %d: %s", strings.Join(args, " "), res.Code, res.RawLog)
	}
	for i := 0; i < 100; i++ {
		q, err := top.Chain.Exec("q", "tx", res.TxHash, "--output", "json")
		if err == nil {
			var r struct {
				Code   int    `json:"code"`
				RawLog string `json:"raw_log"`
			}
			if json.Unmarshal([]byte(lastJSON(q)), &r) == nil {
				if r.Code != 0 {
					return fmt.Errorf("tx %s: failed in block, code %d: %s", strings.Join(args, " "), r.Code, r.RawLog)
				}
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("tx %s (%s) not included", strings.Join(args, " "), res.TxHash)
}

// lastJSON drops anything the CLI printed before its JSON (e.g. gas estimates).
func lastJSON(s string) string {
	if i := strings.Index(s, "{"); i >= 0 {
		return s[i:]
	}
	return s
}

// Query runs `meritd q <args> --output json` and decodes the result.
func (top *Topology) Query(out any, args ...string) error {
	res, err := top.Chain.Exec(append(append([]string{"q"}, args...), "--output", "json")...)
	if err != nil {
		return fmt.Errorf("q %s: %v: %s", strings.Join(args, " "), err, res)
	}
	return json.Unmarshal([]byte(lastJSON(res)), out)
}

// SetHyperparams edits subnet 1's hyperparameters as its owner.
func (top *Topology) SetHyperparams(edit func(map[string]any)) {
	top.T.Helper()
	var res struct {
		Hyperparams map[string]any `json:"hyperparams"`
	}
	if err := top.Query(&res, "subnet", "hyperparams", "1"); err != nil {
		top.T.Fatal(err)
	}
	edit(res.Hyperparams)
	bz, _ := json.Marshal(res.Hyperparams)
	top.Tx("subnet", "update-hyperparams", "1", string(bz), "--from", "owner")
}

// EpochState is the subnet's epoch counter and next epoch block.
type EpochState struct {
	Epoch          uint64
	LastEpochBlock int64
	NextEpochBlock int64
	Tempo          uint64
}

// Epoch reads the subnet's epoch state.
func (top *Topology) Epoch() (EpochState, error) {
	var res struct {
		State struct {
			Epoch          string `json:"epoch"`
			LastEpochBlock string `json:"last_epoch_block"`
		} `json:"state"`
		NextEpochBlock string `json:"next_epoch_block"`
		Tempo          string `json:"tempo"`
	}
	if err := top.Query(&res, "scoring", "epoch", "1"); err != nil {
		return EpochState{}, err
	}
	var st EpochState
	st.Epoch, _ = strconv.ParseUint(res.State.Epoch, 10, 64)
	st.LastEpochBlock, _ = strconv.ParseInt(res.State.LastEpochBlock, 10, 64)
	st.NextEpochBlock, _ = strconv.ParseInt(res.NextEpochBlock, 10, 64)
	st.Tempo, _ = strconv.ParseUint(res.Tempo, 10, 64)
	return st, nil
}

// WaitEpochs waits until n more epochs have run.
func (top *Topology) WaitEpochs(n uint64, timeout time.Duration) EpochState {
	top.T.Helper()
	start, err := top.Epoch()
	if err != nil {
		top.T.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := top.Epoch()
		if err == nil && st.Epoch >= start.Epoch+n {
			return st
		}
		time.Sleep(250 * time.Millisecond)
	}
	top.T.Fatalf("fewer than %d epochs in %s (from epoch %d)", n, timeout, start.Epoch)
	return EpochState{}
}

// Neuron is a metagraph row, decoded from the CLI's JSON.
type Neuron struct {
	UID            uint32
	Hotkey, Owner  string
	Stake          int64
	Permit         bool
	Consensus      uint32
	Incentive      uint32
	Dividends      uint32
	ValidatorTrust uint32
	LastEmission   int64
	RegisteredAt   int64
	Endpoint       string
}

// Metagraph reads subnet 1.
func (top *Topology) Metagraph() ([]Neuron, int64, error) {
	var res struct {
		Block   string `json:"block"`
		Neurons []struct {
			Neuron struct {
				UID            uint32 `json:"uid"`
				Hotkey         string `json:"hotkey"`
				Owner          string `json:"owner"`
				RegisteredAt   string `json:"registered_at"`
				Permit         bool   `json:"validator_permit"`
				Consensus      uint32 `json:"consensus"`
				Incentive      uint32 `json:"incentive"`
				Dividends      uint32 `json:"dividends"`
				ValidatorTrust uint32 `json:"validator_trust"`
				LastEmission   string `json:"last_emission"`
				Endpoint       struct {
					Address string `json:"address"`
				} `json:"endpoint"`
			} `json:"neuron"`
			Stake string `json:"stake"`
		} `json:"neurons"`
	}
	if err := top.Query(&res, "subnet", "metagraph", "1"); err != nil {
		return nil, 0, err
	}
	block, _ := strconv.ParseInt(res.Block, 10, 64)
	out := make([]Neuron, len(res.Neurons))
	for i, n := range res.Neurons {
		out[i] = Neuron{
			UID: n.Neuron.UID, Hotkey: n.Neuron.Hotkey, Owner: n.Neuron.Owner, Permit: n.Neuron.Permit,
			Consensus: n.Neuron.Consensus, Incentive: n.Neuron.Incentive, Dividends: n.Neuron.Dividends,
			ValidatorTrust: n.Neuron.ValidatorTrust, Endpoint: n.Neuron.Endpoint.Address,
		}
		out[i].Stake, _ = strconv.ParseInt(n.Stake, 10, 64)
		out[i].LastEmission, _ = strconv.ParseInt(n.Neuron.LastEmission, 10, 64)
		out[i].RegisteredAt, _ = strconv.ParseInt(n.Neuron.RegisteredAt, 10, 64)
	}
	return out, block, nil
}

// Balance is an account's umerit balance.
func (top *Topology) Balance(name string) int64 {
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	if err := top.Query(&res, "bank", "balance", top.Addr[name], "umerit"); err != nil {
		return -1
	}
	v, _ := strconv.ParseInt(res.Balance.Amount, 10, 64)
	return v
}

// Stake is a delegator's stake on a hotkey.
func (top *Topology) Stake(delegator, hotkey string) int64 {
	var res struct {
		Stakes []struct {
			Hotkey string `json:"hotkey"`
			Amount string `json:"amount"`
		} `json:"stakes"`
	}
	if err := top.Query(&res, "subnet", "stakes", top.Addr[delegator]); err != nil {
		return -1
	}
	for _, s := range res.Stakes {
		if s.Hotkey == top.Addr[hotkey] {
			v, _ := strconv.ParseInt(s.Amount, 10, 64)
			return v
		}
	}
	return 0
}

// SupplyAt reads, at one height, the bank supply, x/emission's total issued
// and x/subnet's total burned, so they can be compared exactly.
func (top *Topology) SupplyAt(height int64) (supply, issued, burned int64, err error) {
	h := fmt.Sprint(height)
	var sup struct {
		Amount struct {
			Amount string `json:"amount"`
		} `json:"amount"`
	}
	if err = top.Query(&sup, "bank", "total-supply-of", "umerit", "--height", h); err != nil {
		return
	}
	var iss struct {
		TotalIssued string `json:"total_issued"`
		TotalBurned string `json:"total_burned"`
	}
	if err = top.Query(&iss, "emission", "total-issued", "--height", h); err != nil {
		return
	}
	supply, _ = strconv.ParseInt(sup.Amount.Amount, 10, 64)
	issued, _ = strconv.ParseInt(iss.TotalIssued, 10, 64)
	burned, _ = strconv.ParseInt(iss.TotalBurned, 10, 64)
	return
}

// genesisSupply is what the chain started with: supply − issued + burned at any height.
func (top *Topology) genesisSupply() int64 {
	h, err := top.Chain.Height()
	if err != nil {
		top.T.Fatal(err)
	}
	s, i, b, err := top.SupplyAt(h - 1)
	if err != nil {
		top.T.Fatal(err)
	}
	return s - i + b
}

func ok(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
