package topology

import (
	"context"
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
	_, err := top.txOutput(args...)
	return err
}

// txOutput is TryTx also returning what the CLI printed when it sent the
// tx (stderr included: where open-account prints a new API key).
func (top *Topology) txOutput(args ...string) (string, error) {
	out, err := top.Chain.Exec(append(append([]string{"tx"}, args...), "--output", "json", "--gas", "auto", "--gas-adjustment", "1.5")...)
	if err != nil {
		return out, fmt.Errorf("tx %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var res struct {
		TxHash string `json:"txhash"`
		Code   int    `json:"code"`
		RawLog string `json:"raw_log"`
	}
	if err := json.Unmarshal([]byte(lastJSON(out)), &res); err != nil {
		return out, fmt.Errorf("tx %s: unreadable response %q", strings.Join(args, " "), out)
	}
	if res.Code != 0 {
		return out, fmt.Errorf("tx %s: check failed, code %d: %s", strings.Join(args, " "), res.Code, res.RawLog)
	}
	// wait-tx subscribes before it looks the hash up, so it returns as soon
	// as the tx is in a block, whether it is already or not.
	q, err := top.Chain.Exec("q", "wait-tx", res.TxHash, "--timeout", "1m", "--output", "json")
	if err != nil {
		return out, fmt.Errorf("tx %s (%s) not included: %v: %s", strings.Join(args, " "), res.TxHash, err, q)
	}
	if err := json.Unmarshal([]byte(lastJSON(q)), &res); err != nil {
		return out, fmt.Errorf("tx %s: unreadable result %q", strings.Join(args, " "), q)
	}
	if res.Code != 0 {
		return out, fmt.Errorf("tx %s: failed in block, code %d: %s", strings.Join(args, " "), res.Code, res.RawLog)
	}
	return out, nil
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

// EpochState is the subnet's epoch counter and schedule.
type EpochState struct {
	Epoch          uint64
	LastEpochBlock int64
	Tempo          uint64
}

// Epoch reads the subnet's epoch state.
func (top *Topology) Epoch() (EpochState, error) {
	res, err := top.queries.EpochState(context.Background(), 1)
	if err != nil {
		return EpochState{}, err
	}
	return EpochState{Epoch: res.State.Epoch, LastEpochBlock: res.State.LastEpochBlock, Tempo: res.Tempo}, nil
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

// Neuron is a metagraph row.
type Neuron struct {
	UID           uint32
	Hotkey, Owner string
	Incentive     uint32
	Dividends     uint32
	LastEmission  int64
	Endpoint      string
}

// Metagraph reads subnet 1.
func (top *Topology) Metagraph() ([]Neuron, int64, error) {
	res, err := top.queries.Metagraph(context.Background(), 1)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Neuron, len(res.Neurons))
	for i, mn := range res.Neurons {
		n := mn.Neuron
		out[i] = Neuron{
			UID: n.Uid, Hotkey: n.Hotkey, Owner: n.Owner, Incentive: n.Incentive, Dividends: n.Dividends,
			Endpoint: n.Endpoint.Address,
		}
		if !n.LastEmission.IsNil() {
			out[i].LastEmission = n.LastEmission.Int64()
		}
	}
	return out, res.Block, nil
}

// Balance is an account's umerit balance, or -1 when it cannot be read.
func (top *Topology) Balance(name string) int64 {
	v, err := top.queries.Balance(context.Background(), top.Addr[name])
	if err != nil {
		return -1
	}
	return v.Int64()
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

func ok(url string) bool { return getStatus(url, "") == http.StatusOK }

// getStatus is the HTTP status of a GET of url with a bearer key (none if
// key is empty), or 0 when nothing answered within a second.
func getStatus(url, key string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
