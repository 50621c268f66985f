package cmd

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	gogoproto "github.com/cosmos/gogoproto/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/testutil/localchain"
)

// TestTxEventLinesMatchEvents keeps the outcome table honest: every typed event
// it names exists and has the attributes its line prints.
func TestTxEventLinesMatchEvents(t *testing.T) {
	for _, l := range txEventLines {
		if !strings.Contains(l.Event, ".") {
			continue // an SDK module's plain event
		}
		d, err := gogoproto.HybridResolver.FindDescriptorByName(protoreflect.FullName(l.Event))
		if err != nil {
			t.Errorf("%s: %v", l.Event, err)
			continue
		}
		md, ok := d.(protoreflect.MessageDescriptor)
		if !ok {
			t.Errorf("%s is not a message", l.Event)
			continue
		}
		attrs := map[string]string{}
		for i := 0; i < md.Fields().Len(); i++ {
			attrs[string(md.Fields().Get(i).Name())] = "x"
		}
		if _, err := expandStrict(l.Format, attrs); err != nil {
			t.Errorf("%s: %q: %v", l.Event, l.Format, err)
		}
	}
}

func TestOutcomeLines(t *testing.T) {
	events := []abci.Event{
		{Type: "message", Attributes: []abci.EventAttribute{{Key: "action", Value: "/merit.subnet.v1.MsgCreateSubnet"}}},
		{Type: "merit.subnet.v1.EventSubnetCreated", Attributes: []abci.EventAttribute{
			{Key: "netuid", Value: "3"}, {Key: "name", Value: `"demo"`}, {Key: "locked", Value: `"100"`}, {Key: "msg_index", Value: "0"},
		}},
	}
	got := strings.Join(outcomeLines(events), "\n")
	if want := "created subnet: netuid 3 (demo), locked 100umerit"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestTxCommandsPrintTheOutcome runs the real binary against a real node.
func TestTxCommandsPrintTheOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := localchain.Start(t, localchain.Options{Accounts: []string{"alice", "bob"}})
	task := `{"model_name":"merit-tiny","model_sha256":"` + inference.TinySHA256 + `","engine_format":"llama2c","max_tokens":16}`

	// Text: included, at which height, and the netuid it created.
	out, err := c.Exec("tx", "subnet", "create-subnet", "demo", task, "--from", "alice")
	if err != nil {
		t.Fatalf("create-subnet: %v\n%s", err, out)
	}
	for _, want := range []string{"txhash: ", "included in block ", "created subnet: netuid 1 (demo)"} {
		if !strings.Contains(out, want) {
			t.Errorf("create-subnet output lacks %q:\n%s", want, out)
		}
	}

	// Queries print nested messages in full (autocli resolves imported types).
	if out, err := c.Exec("q", "subnet", "hyperparams", "1", "-o", "json"); err != nil || !strings.Contains(out, `"tempo"`) {
		t.Errorf("hyperparams: %v\n%s", err, out)
	}

	// JSON: the included tx, as `q tx` prints it.
	out, err = c.Exec("tx", "subnet", "register", "1", c.Address("bob"), "1000000000", "--from", "bob", "-o", "json")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	var res struct {
		TxHash string `json:"txhash"`
		Height string `json:"height"`
		Code   int    `json:"code"`
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	start := strings.Index(out, "{")
	if start < 0 {
		t.Fatalf("register -o json printed no JSON:\n%s", out)
	}
	if err := json.Unmarshal([]byte(out[start:]), &res); err != nil {
		t.Fatalf("register -o json is not one JSON document: %v\n%s", err, out)
	}
	registered := false
	for _, e := range res.Events {
		registered = registered || e.Type == "merit.subnet.v1.EventNeuronRegistered"
	}
	if res.Height == "" || res.Height == "0" || res.Code != 0 || !registered {
		t.Errorf("register -o json: height %q, code %d, registered event %v:\n%s", res.Height, res.Code, registered, out)
	}
	out, err = c.Exec("tx", "subnet", "serve-endpoint", "1", "127.0.0.1:9999", inference.TinyID(), "--from", "bob")
	if err != nil || !strings.Contains(out, "on subnet 1: 127.0.0.1:9999") {
		t.Errorf("serve-endpoint: %v\n%s", err, out)
	}

	// Failed in its block: exit status non-zero, the height and the reason.
	out, err = c.Exec("tx", "bank", "send", "bob", c.Address("alice"), "999999999999999umerit")
	if err == nil || !strings.Contains(out, "failed in block") || !strings.Contains(out, "insufficient funds") {
		t.Errorf("overspending send: err %v\n%s", err, out)
	}
	// Rejected by CheckTx: never in a block.
	out, err = c.Exec("tx", "bank", "send", "bob", c.Address("alice"), "1umerit", "--gas", "1000")
	if err == nil || !strings.Contains(out, "rejected by the node") || strings.Contains(out, "included in block") {
		t.Errorf("out-of-gas send: err %v\n%s", err, out)
	}
	// Without -y: the tx is shown, the user confirms, then the outcome.
	confirm := exec.Command(c.Binary, "tx", "bank", "send", "alice", c.Address("bob"), "7umerit", "--home", c.Home,
		"--node", strings.Replace(c.RPC, "http://", "tcp://", 1), "--chain-id", c.ChainID, "--keyring-backend", "test")
	confirm.Stdin = strings.NewReader("y\n")
	bz, err := confirm.CombinedOutput()
	out = string(bz)
	if shown, included := strings.Index(out, `"body"`), strings.Index(out, "included in block"); err != nil || shown < 0 || included < shown {
		t.Errorf("confirmed send: err %v\n%s", err, out)
	}

	// Async returns at once with the hash, as the SDK does.
	out, err = c.Exec("tx", "bank", "send", "alice", c.Address("bob"), "1umerit", "--broadcast-mode", "async", "-o", "json")
	if err != nil || !strings.Contains(out, `"txhash"`) || strings.Contains(out, "included in block") {
		t.Errorf("async send: err %v\n%s", err, out)
	}
}
