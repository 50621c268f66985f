// Command devnetgen writes networks/devnet: genesis, per-node configs and
// keys for four chain validators on loopback, and a ready subnet whose
// validator-neurons hold permits and stake from genesis. It drives the
// meritd CLI for keys and gentxs, then edits the genesis JSON.
//
//	go run ./scripts/devnetgen -meritd build/meritd -out networks/devnet
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cosmos/cosmos-sdk/types/bech32"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/localnet"
)

const (
	chainID    = "merit-devnet-1"
	nodes      = 4
	neurons    = 64
	users      = 8
	neuronFund = 1_000_000_000     // fees for each neuron hotkey
	neuronBond = 1_000_000_000     // stake on each neuron hotkey
	userFund   = 1_000_000_000_000 // per user account
	valFund    = 1_000_000_000_000
	valSelf    = 100_000_000_000
)

// Ports of node i: base = 27000 + 100·i.
func ports(i int) (p2p, rpc, grpc, api int) {
	b := 27000 + 100*i
	return b + 56, b + 57, b + 90, b + 17
}

var meritd string

func run(args ...string) string {
	cmd := exec.Command(meritd, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "meritd %s: %v\n%s", strings.Join(args, " "), err, out.String())
		os.Exit(1)
	}
	return strings.TrimSpace(out.String())
}

func main() {
	flag.StringVar(&meritd, "meritd", "build/meritd", "meritd binary")
	out := flag.String("out", "networks/devnet", "output directory")
	flag.Parse()

	work, err := os.MkdirTemp("", "devnetgen-")
	check(err)
	defer os.RemoveAll(work)
	keyring := filepath.Join(work, "keys")
	kr := []string{"--keyring-backend", "test", "--keyring-dir", keyring}
	home := func(i int) string { return filepath.Join(work, fmt.Sprintf("node%d", i)) }

	for i := 0; i < nodes; i++ {
		run("init", fmt.Sprintf("node%d", i), "--chain-id", chainID, "--default-denom", "umerit", "--home", home(i))
	}
	var keys []localnet.FundedKey
	for i := 0; i < nodes; i++ {
		keys = append(keys, localnet.FundedKey{Name: fmt.Sprintf("val%d", i), Funds: valFund})
	}
	for u := 0; u < users; u++ {
		keys = append(keys, localnet.FundedKey{Name: fmt.Sprintf("user%d", u), Funds: userFund})
	}
	for n := 0; n < neurons; n++ {
		keys = append(keys, localnet.FundedKey{Name: fmt.Sprintf("hk%d", n), Funds: neuronFund})
	}
	addrs, err := localnet.AddFundedKeys(meritd, home(0), keyring, keys)
	check(err)
	var hotkeys []string
	for n := 0; n < neurons; n++ {
		hotkeys = append(hotkeys, addrs[fmt.Sprintf("hk%d", n)])
	}
	// Every node signs its gentx against the same pre-gentx genesis.
	base, err := os.ReadFile(filepath.Join(home(0), "config", "genesis.json"))
	check(err)
	gentxDir := filepath.Join(home(0), "config", "gentx")
	check(os.MkdirAll(gentxDir, 0o755))
	for i := 0; i < nodes; i++ {
		check(os.WriteFile(filepath.Join(home(i), "config", "genesis.json"), base, 0o644))
		file := filepath.Join(gentxDir, fmt.Sprintf("gentx-node%d.json", i))
		run(append([]string{"genesis", "gentx", fmt.Sprintf("val%d", i), fmt.Sprintf("%dumerit", valSelf),
			"--chain-id", chainID, "--home", home(i), "--moniker", fmt.Sprintf("node%d", i), "--output-document", file}, kr...)...)
	}
	run("genesis", "collect-gentxs", "--home", home(0))
	genesis := editGenesis(filepath.Join(home(0), "config", "genesis.json"), addrs["user0"], hotkeys)
	run("genesis", "validate", filepath.Join(home(0), "config", "genesis.json"), "--home", home(0))

	ids := make([]string, nodes)
	for i := 0; i < nodes; i++ {
		ids[i] = run("comet", "show-node-id", "--home", home(i))
	}
	for i := 0; i < nodes; i++ {
		dst := filepath.Join(*out, fmt.Sprintf("node%d", i), "config")
		check(os.RemoveAll(filepath.Dir(dst)))
		check(os.MkdirAll(dst, 0o755))
		for _, f := range []string{"node_key.json", "priv_validator_key.json", "app.toml", "client.toml", "config.toml"} {
			copyFile(filepath.Join(home(i), "config", f), filepath.Join(dst, f))
		}
		check(os.WriteFile(filepath.Join(dst, "genesis.json"), genesis, 0o644))
		var peers []string
		for j := 0; j < nodes; j++ {
			if j != i {
				p2p, _, _, _ := ports(j)
				peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", ids[j], p2p))
			}
		}
		p2p, rpc, grpc, api := ports(i)
		editTOML(filepath.Join(dst, "config.toml"), map[string]string{
			"consensus.timeout_commit": `"1s"`,
			"rpc.laddr":                fmt.Sprintf(`"tcp://127.0.0.1:%d"`, rpc),
			"rpc.pprof_laddr":          `""`,
			"p2p.laddr":                fmt.Sprintf(`"tcp://127.0.0.1:%d"`, p2p),
			"p2p.persistent_peers":     strconv.Quote(strings.Join(peers, ",")),
			"p2p.addr_book_strict":     "false",
			"p2p.allow_duplicate_ip":   "true",
			"moniker":                  fmt.Sprintf("%q", fmt.Sprintf("node%d", i)),
		})
		editTOML(filepath.Join(dst, "app.toml"), map[string]string{
			"api.address":                     fmt.Sprintf(`"tcp://127.0.0.1:%d"`, api),
			"grpc.address":                    fmt.Sprintf(`"127.0.0.1:%d"`, grpc),
			"state-sync.snapshot-interval":    "20",
			"state-sync.snapshot-keep-recent": "2",
		})
		editTOML(filepath.Join(dst, "client.toml"), map[string]string{
			"chain-id":        strconv.Quote(chainID),
			"keyring-backend": `"test"`,
			"node":            fmt.Sprintf(`"tcp://127.0.0.1:%d"`, rpc),
		})
	}
	check(os.RemoveAll(filepath.Join(*out, "keyring-test")))
	copyDir(filepath.Join(keyring, "keyring-test"), filepath.Join(*out, "keyring-test"))
	fmt.Printf("wrote %s: %d validators, subnet 1 with %d permitted neurons, %d users\n", *out, nodes, neurons, users)
}

// editGenesis shortens governance for local use and adds subnet 1 (task
// merit-tiny, tempo 20) whose neurons are the hotkeys, owned and staked by
// owner, with validator permits from genesis.
func editGenesis(path, owner string, hotkeys []string) []byte {
	bz, err := os.ReadFile(path)
	check(err)
	var g map[string]any
	check(json.Unmarshal(bz, &g))
	state := g["app_state"].(map[string]any)
	gov := state["gov"].(map[string]any)["params"].(map[string]any)
	gov["voting_period"], gov["expedited_voting_period"] = "20s", "10s"

	scoring := state["scoring"].(map[string]any)["params"].(map[string]any)
	scoring["max_unrevealed_commits"] = 100

	subnet := state["subnet"].(map[string]any)
	params := subnet["params"].(map[string]any)
	params["unbonding_period"] = "20"
	h := map[string]any{}
	for k, v := range params["default_hyperparams"].(map[string]any) {
		h[k] = v
	}
	h["tempo"], h["max_validators"], h["weights_rate_limit"], h["immunity_period"] = "20", 64, "0", "100"
	var neuronList, hotkeyList, stakes []any
	for uid, hk := range hotkeys {
		neuronList = append(neuronList, map[string]any{
			"uid": uid, "hotkey": hk, "owner": owner, "registered_at": "0", "validator_permit": true,
			"last_emission": "0", "endpoint": map[string]any{},
		})
		hotkeyList = append(hotkeyList, map[string]any{"hotkey": hk, "owner": owner, "take_bps": 1800})
		stakes = append(stakes, map[string]any{"netuid": 1, "hotkey": hk, "delegator": owner, "amount": strconv.Itoa(neuronBond)})
	}
	subnet["subnets"] = []any{map[string]any{
		"netuid": 1, "owner": owner, "name": "devnet",
		"task":        map[string]any{"model_name": inference.TinyName, "model_sha256": inference.TinySHA256, "engine_format": "llama2c", "max_tokens": 64},
		"hyperparams": h, "locked": "0", "created_at": "0", "burn": h["min_burn"], "burn_updated_at": "0",
		"n": 0, "total_stake": "0", "registrations": "0",
	}}
	subnet["neurons"] = []any{map[string]any{"netuid": 1, "neurons": neuronList}}
	subnet["hotkeys"] = hotkeyList
	subnet["stakes"] = stakes
	subnet["next_netuid"] = 2

	// The stake sits in x/subnet's module account: add it to balances and supply.
	total := int64(neuronBond * len(hotkeys))
	bank := state["bank"].(map[string]any)
	bank["balances"] = append(bank["balances"].([]any), map[string]any{
		"address": moduleAddress("subnet"), "coins": []any{map[string]any{"denom": "umerit", "amount": strconv.FormatInt(total, 10)}},
	})
	supply := bank["supply"].([]any)[0].(map[string]any)
	cur, _ := strconv.ParseInt(supply["amount"].(string), 10, 64)
	supply["amount"] = strconv.FormatInt(cur+total, 10)

	out, err := json.MarshalIndent(g, "", "  ")
	check(err)
	check(os.WriteFile(path, out, 0o644))
	return out
}

func moduleAddress(name string) string {
	s, err := bech32.ConvertAndEncode("merit", authtypes.NewModuleAddress(name))
	check(err)
	return s
}

func editTOML(path string, edits map[string]string) { check(localnet.SetTOML(path, edits)) }

func copyFile(src, dst string) {
	bz, err := os.ReadFile(src)
	check(err)
	check(os.WriteFile(dst, bz, 0o644))
}

func copyDir(src, dst string) {
	check(os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	check(err)
	for _, e := range entries {
		copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
