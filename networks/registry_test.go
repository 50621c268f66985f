// Package networks holds network definitions; this test keeps their
// chain-registry files (cosmos/chain-registry format) true to the chain.
package networks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/app"
)

type endpoint struct {
	Address  string `json:"address"`
	Provider string `json:"provider"`
}

type feeToken struct {
	Denom            string  `json:"denom"`
	FixedMinGasPrice float64 `json:"fixed_min_gas_price"`
	LowGasPrice      float64 `json:"low_gas_price"`
	AverageGasPrice  float64 `json:"average_gas_price"`
	HighGasPrice     float64 `json:"high_gas_price"`
}

type versioned struct {
	Type    string `json:"type"`
	Version string `json:"version"`
}

// chainJSON is the part of chain.schema.json Merit fills in; unknown fields
// fail the decode, so a typo cannot hide.
type chainJSON struct {
	Schema       string   `json:"$schema"`
	ChainName    string   `json:"chain_name"`
	Status       string   `json:"status"`
	NetworkType  string   `json:"network_type"`
	PrettyName   string   `json:"pretty_name"`
	ChainType    string   `json:"chain_type"`
	ChainID      string   `json:"chain_id"`
	Website      string   `json:"website"`
	Bech32Prefix string   `json:"bech32_prefix"`
	DaemonName   string   `json:"daemon_name"`
	NodeHome     string   `json:"node_home"`
	KeyAlgos     []string `json:"key_algos"`
	Slip44       uint32   `json:"slip44"`
	Fees         struct {
		FeeTokens []feeToken `json:"fee_tokens"`
	} `json:"fees"`
	Staking struct {
		StakingTokens []struct {
			Denom string `json:"denom"`
		} `json:"staking_tokens"`
	} `json:"staking"`
	Codebase struct {
		GitRepo            string    `json:"git_repo"`
		RecommendedVersion string    `json:"recommended_version"`
		CompatibleVersions []string  `json:"compatible_versions"`
		Consensus          versioned `json:"consensus"`
		SDK                versioned `json:"sdk"`
		Genesis            struct {
			GenesisURL string `json:"genesis_url"`
		} `json:"genesis"`
	} `json:"codebase"`
	APIs struct {
		RPC  []endpoint `json:"rpc"`
		REST []endpoint `json:"rest"`
		GRPC []endpoint `json:"grpc"`
	} `json:"apis"`
}

type assetListJSON struct {
	Schema    string `json:"$schema"`
	ChainName string `json:"chain_name"`
	Assets    []struct {
		Description string `json:"description"`
		DenomUnits  []struct {
			Denom    string `json:"denom"`
			Exponent uint32 `json:"exponent"`
		} `json:"denom_units"`
		TypeAsset string `json:"type_asset"`
		Base      string `json:"base"`
		Name      string `json:"name"`
		Display   string `json:"display"`
		Symbol    string `json:"symbol"`
	} `json:"assets"`
}

func decodeStrict(t *testing.T, what string, bz []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var (
	chainNameRe = regexp.MustCompile(`^[a-z0-9]+$`)
	symbolRe    = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	schemaRe    = regexp.MustCompile(`^(\.\./)+(chain|assetlist)\.schema\.json$`)
)

// checkChain applies the registry's rules and Merit's facts to a chain.json.
func checkChain(t *testing.T, what string, c *chainJSON, minGasPrice float64) {
	t.Helper()
	fail := func(format string, args ...any) { t.Errorf("%s: %s", what, fmt.Sprintf(format, args...)) }
	if !schemaRe.MatchString(c.Schema) || !strings.HasSuffix(c.Schema, "chain.schema.json") {
		fail("$schema %q", c.Schema)
	}
	if !chainNameRe.MatchString(c.ChainName) {
		fail("chain_name %q is not lowercase alphanumeric", c.ChainName)
	}
	if c.Status != "live" && c.Status != "upcoming" && c.Status != "killed" {
		fail("status %q", c.Status)
	}
	if c.NetworkType != "mainnet" && c.NetworkType != "testnet" && c.NetworkType != "devnet" {
		fail("network_type %q", c.NetworkType)
	}
	if c.ChainType != "cosmos" || c.ChainID == "" || c.PrettyName == "" || c.DaemonName != "meritd" {
		fail("chain_type %q, chain_id %q, pretty_name %q, daemon_name %q", c.ChainType, c.ChainID, c.PrettyName, c.DaemonName)
	}
	if c.Bech32Prefix != app.AccountAddressPrefix {
		fail("bech32_prefix %q, the chain uses %q", c.Bech32Prefix, app.AccountAddressPrefix)
	}
	if c.Slip44 != sdk.CoinType {
		fail("slip44 %d, keys derive with coin type %d", c.Slip44, sdk.CoinType)
	}
	if len(c.KeyAlgos) != 1 || c.KeyAlgos[0] != "secp256k1" {
		fail("key_algos %v", c.KeyAlgos)
	}
	if len(c.Fees.FeeTokens) != 1 {
		fail("want one fee token, got %d", len(c.Fees.FeeTokens))
	} else {
		f := c.Fees.FeeTokens[0]
		if f.Denom != app.BondDenom {
			fail("fee denom %q", f.Denom)
		}
		if f.FixedMinGasPrice < minGasPrice {
			fail("fixed_min_gas_price %v is below the nodes' minimum-gas-prices %v", f.FixedMinGasPrice, minGasPrice)
		}
		if !(f.FixedMinGasPrice <= f.LowGasPrice && f.LowGasPrice <= f.AverageGasPrice && f.AverageGasPrice <= f.HighGasPrice) {
			fail("gas prices not ordered fixed ≤ low ≤ average ≤ high: %+v", f)
		}
	}
	if len(c.Staking.StakingTokens) != 1 || c.Staking.StakingTokens[0].Denom != app.BondDenom {
		fail("staking_tokens %+v", c.Staking.StakingTokens)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		got     versioned
		typ     string
		modPath string
	}{{c.Codebase.Consensus, "cometbft", "github.com/cometbft/cometbft"}, {c.Codebase.SDK, "cosmos", "github.com/cosmos/cosmos-sdk"}} {
		if want := "\t" + v.modPath + " " + v.got.Version + "\n"; v.got.Type != v.typ || !strings.Contains(string(gomod), want) {
			fail("codebase %s %+v does not match go.mod", v.typ, v.got)
		}
	}
	if c.Codebase.GitRepo == "" || c.Codebase.RecommendedVersion == "" || !strings.HasPrefix(c.Codebase.Genesis.GenesisURL, "https://") {
		fail("codebase %+v", c.Codebase)
	}
	if len(c.APIs.RPC) == 0 || len(c.APIs.REST) == 0 || len(c.APIs.GRPC) == 0 {
		fail("apis need rpc, rest and grpc")
	}
	for _, e := range append(append(append([]endpoint{}, c.APIs.RPC...), c.APIs.REST...), c.APIs.GRPC...) {
		if e.Address == "" || e.Provider == "" {
			fail("endpoint %+v", e)
		}
	}
}

// checkAssets applies the registry's rules and Merit's token to an assetlist.json.
func checkAssets(t *testing.T, what string, a assetListJSON, chainName string) {
	t.Helper()
	fail := func(format string, args ...any) { t.Errorf("%s: %s", what, fmt.Sprintf(format, args...)) }
	if !schemaRe.MatchString(a.Schema) || !strings.HasSuffix(a.Schema, "assetlist.schema.json") {
		fail("$schema %q", a.Schema)
	}
	if a.ChainName != chainName {
		fail("chain_name %q, chain.json says %q", a.ChainName, chainName)
	}
	if len(a.Assets) != 1 {
		t.Fatalf("%s: want the one native asset, got %d", what, len(a.Assets))
	}
	m := a.Assets[0]
	exp := map[string]uint32{}
	for _, u := range m.DenomUnits {
		exp[u.Denom] = u.Exponent
	}
	if m.Base != app.BondDenom || len(m.DenomUnits) == 0 || m.DenomUnits[0].Denom != m.Base || m.DenomUnits[0].Exponent != 0 {
		fail("base %q must be the first denom unit, exponent 0: %+v", m.Base, m.DenomUnits)
	}
	if e, ok := exp[m.Display]; !ok || e != 6 {
		fail("display %q must be a denom unit with exponent 6 (10^6 umerit = 1 MERIT): %+v", m.Display, m.DenomUnits)
	}
	if m.Symbol != "MERIT" || !symbolRe.MatchString(m.Symbol) || m.Name == "" || len(m.Name) > 60 || m.Description == "" {
		fail("symbol %q, name %q, description %q", m.Symbol, m.Name, m.Description)
	}
	if m.TypeAsset != "sdk.coin" {
		fail("type_asset %q", m.TypeAsset)
	}
}

// tomlValue reads `key = "value"` from the section of a TOML file.
func tomlValue(t *testing.T, path, section, key string) string {
	t.Helper()
	bz, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(bz)
	if section != "" {
		i := strings.Index(s, "\n["+section+"]")
		if i < 0 {
			t.Fatalf("%s: no [%s]", path, section)
		}
		s = s[i:]
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = "([^"]*)"`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s: no %s", path, key)
	}
	return m[1]
}

func TestDevnetRegistryFiles(t *testing.T) {
	var c chainJSON
	var a assetListJSON
	for file, v := range map[string]any{"devnet/chain.json": &c, "devnet/assetlist.json": &a} {
		bz, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		decodeStrict(t, file, bz, v)
	}

	var genesis struct {
		ChainID  string `json:"chain_id"`
		AppState struct {
			Staking struct {
				Params struct {
					BondDenom string `json:"bond_denom"`
				} `json:"params"`
			} `json:"staking"`
		} `json:"app_state"`
	}
	bz, err := os.ReadFile("devnet/node0/config/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(bz, &genesis); err != nil {
		t.Fatal(err)
	}
	if c.ChainID != genesis.ChainID {
		t.Errorf("chain_id %q, genesis %q", c.ChainID, genesis.ChainID)
	}
	if genesis.AppState.Staking.Params.BondDenom != app.BondDenom {
		t.Errorf("genesis bond denom %q", genesis.AppState.Staking.Params.BondDenom)
	}

	nodes, _ := filepath.Glob("devnet/node*/config")
	if len(nodes) == 0 {
		t.Fatal("no devnet nodes")
	}
	minGas := 0.0
	listed := func(list []endpoint, addr string) bool {
		for _, e := range list {
			if e.Address == addr {
				return true
			}
		}
		return false
	}
	for _, dir := range nodes {
		price := strings.TrimSuffix(tomlValue(t, filepath.Join(dir, "app.toml"), "", "minimum-gas-prices"), app.BondDenom)
		p, err := strconv.ParseFloat(price, 64)
		if err != nil {
			t.Fatalf("%s minimum-gas-prices %q: %v", dir, price, err)
		}
		minGas = max(minGas, p)
		rpc := strings.Replace(tomlValue(t, filepath.Join(dir, "config.toml"), "rpc", "laddr"), "tcp://", "http://", 1)
		rest := strings.Replace(tomlValue(t, filepath.Join(dir, "app.toml"), "api", "address"), "tcp://", "http://", 1)
		grpc := tomlValue(t, filepath.Join(dir, "app.toml"), "grpc", "address")
		if !listed(c.APIs.RPC, rpc) || !listed(c.APIs.REST, rest) || !listed(c.APIs.GRPC, grpc) {
			t.Errorf("%s serves rpc %s, rest %s, grpc %s: not all in chain.json apis", dir, rpc, rest, grpc)
		}
	}
	if n := len(nodes); len(c.APIs.RPC) != n || len(c.APIs.REST) != n || len(c.APIs.GRPC) != n {
		t.Errorf("chain.json lists endpoints of nodes that do not exist")
	}
	checkChain(t, "devnet/chain.json", &c, minGas)
	checkAssets(t, "devnet/assetlist.json", a, c.ChainName)
	if c.NetworkType != "devnet" {
		t.Errorf("network_type %q", c.NetworkType)
	}
}

// TestTemplateRegistryFiles checks the public-testnet template in README.md.
func TestTemplateRegistryFiles(t *testing.T) {
	bz, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string][]byte{}
	lines := strings.Split(string(bz), "\n")
	for i := 0; i+1 < len(lines); i++ {
		m := regexp.MustCompile(`^<!-- registry-template: (\S+) -->$`).FindStringSubmatch(lines[i])
		if m == nil || lines[i+1] != "```json" {
			continue
		}
		var b strings.Builder
		for j := i + 2; j < len(lines) && lines[j] != "```"; j++ {
			b.WriteString(lines[j] + "\n")
		}
		blocks[m[1]] = []byte(b.String())
	}
	var c chainJSON
	var a assetListJSON
	if blocks["chain.json"] == nil || blocks["assetlist.json"] == nil {
		t.Fatalf("README.md lacks a registry-template block: %v", blocks)
	}
	decodeStrict(t, "template chain.json", blocks["chain.json"], &c)
	decodeStrict(t, "template assetlist.json", blocks["assetlist.json"], &a)
	// A public network charges for gas (README: launching a public testnet, step 4).
	checkChain(t, "template chain.json", &c, 1e-9)
	checkAssets(t, "template assetlist.json", a, c.ChainName)
	if c.NetworkType != "testnet" {
		t.Errorf("template network_type %q", c.NetworkType)
	}
}
