// Package localnet starts a real single-node meritd on free loopback ports:
// its own home, a `test` keyring with funded accounts, fast blocks. The
// demo and the network topology run on it, and tests reach it through
// testutil/localchain.
package localnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options shape the chain.
type Options struct {
	// Accounts are key names created in the test keyring and funded with
	// 1M MERIT each. "validator" always exists and runs the chain.
	Accounts []string
	// BlockTime is the commit timeout (default 300ms).
	BlockTime time.Duration
	// Log is where the node logs (default: meritd.log in its home).
	Log string
	// Binary is the meritd to run (default: Binary(t)).
	Binary string
}

// Genesis settings every test chain shares: x/gov's voting period is short
// enough for a proposal to pass within a test, and x/subnet's unbonding
// period (blocks) for stake to come back within one.
const (
	accountFunds    = 1_000_000_000_000 // umerit, 1M MERIT
	votingPeriod    = 10 * time.Second
	unbondingBlocks = 5
)

// Chain is a running node.
type Chain struct {
	t       TB
	Binary  string
	Home    string
	ChainID string
	// RPC is the CometBFT RPC URL, GRPC host:port, API the REST URL.
	RPC, GRPC, API string
	Log            string
	node           *Process
	p2p            string
	// addrs holds the address of every key Start created, so Address needs
	// no CLI call for them.
	addrs map[string]string
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// RepoRoot finds the module root from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Fataler is the part of testing.TB (or ginkgo's GinkgoT) Binary needs.
type Fataler interface {
	Helper()
	Fatal(args ...any)
}

// TB is what Start needs from its caller: testing.TB, GinkgoT(), or the
// demo's Runner all satisfy it.
type TB interface {
	Fataler
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// Binary returns a meritd built from this checkout: $MERITD_BIN when set,
// else one `go build` per test process into a temporary directory.
func Binary(t Fataler) string {
	t.Helper()
	if p := os.Getenv("MERITD_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "merit-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "meritd")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/meritd")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build meritd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// FreePort is an unused loopback port for a daemon to listen on, never
// the same twice in a process. It is free when FreePort returns; the
// daemon binds it later, so FreePort keeps out of the two ways it could be
// taken meanwhile. Port 0's choice is one: Linux handed two consecutive
// callers the same port (two miners of one e2e topology, "address already
// in use"). The kernel's ephemeral range (ip_local_port_range, 32768–60999
// by default) is the other: any outgoing connection may take a port there.
// So FreePort tries random ports below that range, above the fixed ones
// this repository uses (localnet 1317, 8091, 9090; devnet 26656–27500).
func FreePort(t Fataler) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 1000 {
		port := freePortMin + rand.IntN(freePortMax-freePortMin)
		if ports.given[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		ports.given[port] = true
		return port
	}
	t.Fatal("no free loopback port between", freePortMin, "and", freePortMax)
	return 0
}

const freePortMin, freePortMax = 10_000, 26_000

var ports = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// Start initializes and starts a chain; it is stopped when the test ends.
func Start(t TB, o Options) *Chain {
	t.Helper()
	if o.BlockTime == 0 {
		o.BlockTime = 300 * time.Millisecond
	}
	if o.Binary == "" {
		o.Binary = Binary(t)
	}
	c := &Chain{t: t, Binary: o.Binary, Home: t.TempDir(), ChainID: "merit-test-1"}
	c.Log = o.Log
	if c.Log == "" {
		c.Log = filepath.Join(c.Home, "meritd.log")
	}
	c.RPC = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
	c.GRPC = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	c.API = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
	c.p2p = fmt.Sprintf("127.0.0.1:%d", FreePort(t))

	c.must("init", "test", "--chain-id", c.ChainID, "--default-denom", "umerit")
	keys := []FundedKey{{"validator", accountFunds}}
	for _, name := range o.Accounts {
		keys = append(keys, FundedKey{name, accountFunds})
	}
	var err error
	if c.addrs, err = AddFundedKeys(c.Binary, c.Home, c.Home, keys); err != nil {
		t.Fatal(err)
	}
	c.must("genesis", "gentx", "validator", "100000000000umerit", "--chain-id", c.ChainID, "--keyring-backend", "test")
	c.must("genesis", "collect-gentxs")
	c.editGenesis()
	c.editConfig(o)
	c.start()
	c.WaitHeight(2, 60*time.Second)
	t.Cleanup(c.Stop)
	return c
}

func (c *Chain) must(args ...string) string {
	c.t.Helper()
	out, err := c.Exec(args...)
	if err != nil {
		c.t.Fatalf("meritd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Exec runs the meritd CLI against this chain's home (queries and txs also
// get --node). It returns combined output.
func (c *Chain) Exec(args ...string) (string, error) {
	full := append([]string{}, args...)
	full = append(full, "--home", c.Home)
	if len(args) > 0 && (args[0] == "q" || args[0] == "query" || args[0] == "tx" || args[0] == "status") {
		full = append(full, "--node", strings.Replace(c.RPC, "http://", "tcp://", 1))
	}
	if len(args) > 0 && args[0] == "tx" {
		full = append(full, "--chain-id", c.ChainID, "--keyring-backend", "test", "--yes")
	}
	return run(c.Binary, full...)
}

// run calls meritd and returns its combined output.
func run(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// FundedKey is a key to create in a test keyring and fund at genesis.
type FundedKey struct {
	Name  string
	Funds int64 // umerit
}

// AddFundedKeys creates each key in the test keyring at keyringDir and funds
// them all in the genesis of home, returning their addresses by name. Every
// meritd call costs a process start and an app build, so the addresses come
// from `keys add` itself and one bulk call funds every account.
func AddFundedKeys(bin, home, keyringDir string, keys []FundedKey) (map[string]string, error) {
	type coin struct {
		Denom  string `json:"denom"`
		Amount string `json:"amount"`
	}
	type account struct {
		Address string `json:"address"`
		Coins   []coin `json:"coins"`
	}
	call := func(args ...string) (string, error) {
		out, err := run(bin, args...)
		if err != nil {
			return out, fmt.Errorf("meritd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out, nil
	}
	addrs := map[string]string{}
	accounts := make([]account, 0, len(keys))
	for _, k := range keys {
		out, err := call("keys", "add", k.Name, "--keyring-backend", "test", "--keyring-dir", keyringDir, "--home", home, "--output", "json")
		if err != nil {
			return nil, err
		}
		var key struct {
			Address string `json:"address"`
		}
		if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &key) != nil || key.Address == "" {
			return nil, fmt.Errorf("meritd keys add %s: no address in %q", k.Name, out)
		}
		addrs[k.Name] = key.Address
		accounts = append(accounts, account{key.Address, []coin{{"umerit", strconv.FormatInt(k.Funds, 10)}}})
	}
	bz, err := json.Marshal(accounts)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(home, "config", "genesis-accounts.json")
	if err := os.WriteFile(file, bz, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(file)
	if _, err := call("genesis", "bulk-add-genesis-account", file, "--home", home); err != nil {
		return nil, err
	}
	return addrs, nil
}

// Address returns the bech32 address of a test key.
func (c *Chain) Address(name string) string {
	c.t.Helper()
	if a, ok := c.addrs[name]; ok {
		return a
	}
	return strings.TrimSpace(c.must("keys", "show", name, "-a", "--keyring-backend", "test"))
}

// KeyringDir is where the test keyring lives (backend "test").
func (c *Chain) KeyringDir() string { return c.Home }

func (c *Chain) editGenesis() {
	path := filepath.Join(c.Home, "config", "genesis.json")
	bz, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	var g map[string]any
	if err := json.Unmarshal(bz, &g); err != nil {
		c.t.Fatal(err)
	}
	state := g["app_state"].(map[string]any)
	gov := state["gov"].(map[string]any)["params"].(map[string]any)
	gov["voting_period"] = fmt.Sprintf("%ds", int(votingPeriod.Seconds()))
	gov["expedited_voting_period"] = fmt.Sprintf("%ds", max(1, int(votingPeriod.Seconds())/2))
	subnet := state["subnet"].(map[string]any)["params"].(map[string]any)
	subnet["unbonding_period"] = strconv.Itoa(unbondingBlocks)
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// SetTOML sets keys of a CometBFT/SDK TOML config in place. A key is
// "section.name" or "name" for the top level; the first assignment of name
// after the section header is replaced by `name = value` (value as written in
// TOML, quotes included for strings).
func SetTOML(path string, edits map[string]string) error {
	bz, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(bz)
	for key, val := range edits {
		section, name := "", key
		if i := strings.LastIndex(key, "."); i >= 0 {
			section, name = key[:i], key[i+1:]
		}
		start := 0
		if section != "" {
			idx := strings.Index(s, "["+section+"]")
			if idx < 0 {
				return fmt.Errorf("%s: no section [%s]", path, section)
			}
			start = idx
		}
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` = .*$`)
		loc := re.FindStringIndex(s[start:])
		if loc == nil {
			return fmt.Errorf("%s: no key %s", path, key)
		}
		s = s[:start+loc[0]] + name + " = " + val + s[start+loc[1]:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

func setTOML(t TB, path string, edits map[string]string) {
	if err := SetTOML(path, edits); err != nil {
		t.Fatal(err)
	}
}

func (c *Chain) editConfig(o Options) {
	cfg := filepath.Join(c.Home, "config")
	setTOML(c.t, filepath.Join(cfg, "config.toml"), map[string]string{
		"consensus.timeout_commit": fmt.Sprintf("%q", o.BlockTime.String()),
		"rpc.laddr":                fmt.Sprintf("%q", strings.Replace(c.RPC, "http://", "tcp://", 1)),
		"rpc.pprof_laddr":          `""`,
		"p2p.laddr":                fmt.Sprintf("%q", "tcp://"+c.p2p),
	})
	setTOML(c.t, filepath.Join(cfg, "app.toml"), map[string]string{
		"api.address":  fmt.Sprintf("%q", strings.Replace(c.API, "http://", "tcp://", 1)),
		"grpc.address": fmt.Sprintf("%q", c.GRPC),
	})
	// So that `meritd … --home HOME` reaches this node with its keyring
	// and no other flag (the demo tells users to do just that).
	setTOML(c.t, filepath.Join(cfg, "client.toml"), map[string]string{
		"chain-id":        fmt.Sprintf("%q", c.ChainID),
		"keyring-backend": `"test"`,
		"node":            fmt.Sprintf("%q", strings.Replace(c.RPC, "http://", "tcp://", 1)),
	})
}

func (c *Chain) start() {
	node, err := StartProcess(c.Binary, []string{"start", "--home", c.Home}, c.Log)
	if err != nil {
		c.t.Fatal(err)
	}
	c.node = node
}

// Stop ends the node (SIGTERM, then SIGKILL after 10 s).
func (c *Chain) Stop() { c.node.Stop(false, 10*time.Second) }

// Restart stops the node and starts it again on the same home and ports.
func (c *Chain) Restart(wait time.Duration) {
	c.t.Helper()
	c.Stop()
	c.start()
	c.WaitHeight(1, wait)
}

// Height asks the node for its latest height.
func (c *Chain) Height() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.RPC+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Result struct {
			SyncInfo struct {
				LatestBlockHeight string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.Result.SyncInfo.LatestBlockHeight, 10, 64)
}

// WaitHeight blocks until the chain reaches h, failing the test after timeout.
func (c *Chain) WaitHeight(h int64, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !c.node.Running() {
			c.t.Fatalf("meritd exited; log %s:\n%s", c.Log, Tail(c.Log, 30))
		}
		if got, err := c.Height(); err == nil && got >= h {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("chain did not reach height %d in %s; log %s:\n%s", h, timeout, c.Log, Tail(c.Log, 30))
}
