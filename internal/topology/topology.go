// Package topology starts the demo network as real processes on loopback: a
// single-node meritd, a subnet whose task is merit-tiny with a price per
// token, four miners (honest, honest but slow, serving a different model,
// returning random tokens), two validators with different stake, a
// delegator, and a funded "user" key that can open a paid account (OpenAccount)
// and send traffic through a validator's gateway (NewUser). `make demo` prints it
// live; tests/e2e asserts on it.
package topology

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/localnet"
)

// Config shapes the network.
type Config struct {
	// BinDir holds meritd, merit-miner and merit-validator (default: build/ of the repo).
	BinDir string
	// LogDir receives one log per process (default: a temp dir).
	LogDir string
	// Tempo of the subnet in blocks (default 20) at BlockTime (default 300ms).
	Tempo     uint64
	BlockTime time.Duration
	// ProbeInterval of the validators (default 2s).
	ProbeInterval time.Duration
	// MaxUIDs of the subnet (default 16).
	MaxUIDs uint32
	// ImmunityPeriod in blocks (default 2 tempos).
	ImmunityPeriod uint64
	// SlowDelay is the per-token delay of the slow miner (default 40ms).
	SlowDelay time.Duration
	// PricePerMillionTokens is the subnet's price for paid inference,
	// umerit per million prompt + completion tokens (default DemoPrice; -1: free).
	PricePerMillionTokens int64
}

// DemoPrice is 10,000 MERIT per million tokens: 0.01 MERIT a token. The
// demo's subnet gets about 18 MERIT of emission an epoch (1 MERIT a block
// less the 10% chain-security share, 20 blocks), and its one user, paced at
// a request every 0.7 s of some 30 prompt tokens (chat template included)
// and up to 24 answer tokens, buys about 500 tokens in an epoch's 7
// seconds: 5 MERIT charged, of which 80% (less the gateway fee and the
// burn) reaches the payout. Revenue is then a clear 15–20% of what miners
// and validators get, beside emission: not a rounding error, not the
// whole. On a real subnet the price follows the market; here it only has
// to make the flow visible.
const DemoPrice = 10_000_000_000

// Role of a process in the demo.
type Role string

const (
	HonestMiner   Role = "miner (honest)"
	SlowMiner     Role = "miner (slow)"
	WrongModel    Role = "miner (other model)"
	RandomMiner   Role = "miner (random tokens)"
	ValidatorRole Role = "validator"
)

// Proc is one daemon of the network.
type Proc struct {
	Name, Hotkey, Owner string // key names
	Role                Role
	Listen              string // host:port it serves on
	Log                 string
	args                []string
	proc                *localnet.Process
}

// Topology is a running demo network.
type Topology struct {
	T          localnet.TB
	Cfg        Config
	Chain      *localnet.Chain
	Miners     []*Proc
	Validators []*Proc
	// Addr maps key names to addresses.
	Addr map[string]string
	// GenesisSupply is the chain's supply at genesis (supply − issued + burned).
	GenesisSupply int64
	// queries answers the queries that are polled or repeated (epoch,
	// metagraph, balances): a meritd CLI call costs a process start and an
	// app build, on a machine that also runs the whole network.
	queries *chain.Client
}

func (c *Config) defaults() {
	if c.BinDir == "" {
		c.BinDir = filepath.Join(localnet.RepoRoot(), "build")
	}
	if c.Tempo == 0 {
		c.Tempo = 20
	}
	if c.BlockTime == 0 {
		c.BlockTime = 300 * time.Millisecond
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = 2 * time.Second
	}
	if c.MaxUIDs == 0 {
		c.MaxUIDs = 16
	}
	if c.ImmunityPeriod == 0 {
		c.ImmunityPeriod = 2 * c.Tempo
	}
	if c.SlowDelay == 0 {
		c.SlowDelay = 40 * time.Millisecond
	}
	if c.PricePerMillionTokens == 0 {
		c.PricePerMillionTokens = DemoPrice
	}
}

var minerRoles = []Role{HonestMiner, SlowMiner, WrongModel, RandomMiner}

// Start brings the whole network up and returns once both validators hold
// permits and every process is serving. progress receives one line per step.
func Start(t localnet.TB, cfg Config, progress func(string)) *Topology {
	t.Helper()
	cfg.defaults()
	if progress == nil {
		progress = func(string) {}
	}
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		t.Fatal(err)
	}
	meritd := os.Getenv("MERITD_BIN")
	if meritd == "" {
		meritd = filepath.Join(cfg.BinDir, "meritd")
	}
	accounts := []string{"owner", "delegator", "valowner0", "valowner1", "minerowner0", "minerowner1", "minerowner2", "minerowner3", "newcomer", "user"}
	for i := range minerRoles {
		accounts = append(accounts, fmt.Sprintf("miner%d", i))
	}
	accounts = append(accounts, "validator0", "validator1")
	progress("starting meritd (single node, fast blocks)")
	lc := localnet.Start(t, localnet.Options{Accounts: accounts, BlockTime: cfg.BlockTime, Log: filepath.Join(cfg.LogDir, "meritd.log"), Binary: meritd})
	queries, err := chain.Dial(context.Background(), chain.Config{GRPCAddr: lc.GRPC, RPCAddr: lc.RPC, ChainID: lc.ChainID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = queries.Close() })
	top := &Topology{T: t, Cfg: cfg, Chain: lc, Addr: map[string]string{}, queries: queries}
	for _, a := range append(accounts, "validator") {
		top.Addr[a] = lc.Address(a)
	}
	top.GenesisSupply = top.genesisSupply()

	progress("creating subnet 1 with task merit-tiny")
	task := fmt.Sprintf(`{"model_name":"merit-tiny","model_sha256":%q,"engine_format":"llama2c","max_tokens":48}`, inference.TinySHA256)
	top.Tx("subnet", "create-subnet", "demo", task, "--from", "owner")
	top.SetHyperparams(func(h map[string]any) {
		h["tempo"] = strconv.FormatUint(cfg.Tempo, 10)
		h["max_uids"] = cfg.MaxUIDs
		h["max_validators"] = 2
		h["immunity_period"] = strconv.FormatUint(cfg.ImmunityPeriod, 10)
		h["weights_rate_limit"] = "2"
		h["commit_reveal_enabled"] = true
		h["reveal_period"] = "1"
		h["activity_cutoff"] = "100000"
		h["burn_increase_bps"] = 10000
		h["price_per_million_tokens"] = strconv.FormatInt(max(cfg.PricePerMillionTokens, 0), 10)
	})

	progress("registering 4 miners and 2 validators")
	for i, role := range minerRoles {
		name := fmt.Sprintf("miner%d", i)
		top.Tx("subnet", "register", "1", top.Addr[fmt.Sprintf("minerowner%d", i)], "1000000000", "--from", name)
		top.Miners = append(top.Miners, &Proc{Name: name, Hotkey: name, Owner: fmt.Sprintf("minerowner%d", i), Role: role})
	}
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("validator%d", i)
		top.Tx("subnet", "register", "1", top.Addr[fmt.Sprintf("valowner%d", i)], "1000000000", "--from", name)
		top.Validators = append(top.Validators, &Proc{Name: name, Hotkey: name, Owner: fmt.Sprintf("valowner%d", i), Role: ValidatorRole})
	}
	progress("staking: validator0 600 MERIT, validator1 300 MERIT, delegator 100 MERIT on validator0")
	top.Tx("subnet", "add-stake", "1", top.Addr["validator0"], "600000000", "--from", "valowner0")
	top.Tx("subnet", "add-stake", "1", top.Addr["validator1"], "300000000", "--from", "valowner1")
	top.Tx("subnet", "add-stake", "1", top.Addr["validator0"], "100000000", "--from", "delegator")

	progress("waiting for the first epoch to hand out validator permits")
	top.WaitEpochs(1, 60*time.Second)

	for _, m := range top.Miners {
		m.Listen = fmt.Sprintf("127.0.0.1:%d", localnet.FreePort(t))
		m.Log = filepath.Join(cfg.LogDir, m.Name+".log")
		m.args = top.minerArgs(m)
		progress(fmt.Sprintf("starting %s: %s on %s", m.Name, m.Role, m.Listen))
		top.StartProc(m)
	}
	for _, m := range top.Miners {
		top.waitHTTP(m, "/healthz", 60*time.Second)
	}
	// Validators probe the miners whose endpoints are on chain; one started
	// earlier than another miner's endpoint lands would pay the first a
	// head start of whole epochs.
	progress("waiting for the miners' endpoints on chain")
	top.waitEndpoints(60 * time.Second)
	for _, v := range top.Validators {
		v.Listen = fmt.Sprintf("127.0.0.1:%d", localnet.FreePort(t))
		v.Log = filepath.Join(cfg.LogDir, v.Name+".log")
		v.args = top.validatorArgs(v)
		progress(fmt.Sprintf("starting %s (dashboard http://%s/)", v.Name, v.Listen))
		top.StartProc(v)
	}
	for _, v := range top.Validators {
		top.waitHTTP(v, "/healthz", 60*time.Second)
	}
	t.Cleanup(top.Stop)
	return top
}

func (top *Topology) common(p *Proc) []string {
	return []string{
		"--home", filepath.Join(top.Cfg.LogDir, "home-"+p.Name),
		"--keyring-backend", "test", "--keyring-dir", top.Chain.KeyringDir(),
		"--hotkey", p.Hotkey, "--netuid", "1",
		"--grpc", top.Chain.GRPC, "--rpc", top.Chain.RPC, "--chain-id", top.Chain.ChainID,
		"--log-format", "console",
	}
}

func (top *Topology) minerArgs(m *Proc) []string {
	args := append([]string{"serve"}, top.common(m)...)
	args = append(args, "--listen", m.Listen)
	switch m.Role {
	case SlowMiner:
		args = append(args, "--fault-delay", top.Cfg.SlowDelay.String())
	case WrongModel:
		args = append(args, "--builtin-seed", "7", "--allow-model-mismatch")
	case RandomMiner:
		args = append(args, "--fault-random-tokens")
	}
	return args
}

func (top *Topology) validatorArgs(v *Proc) []string {
	args := append([]string{"run"}, top.common(v)...)
	// Every miner of the topology listens on loopback.
	args = append(args, "--listen", v.Listen, "--probe-interval", top.Cfg.ProbeInterval.String(), "--allow-private-endpoints")
	if v == top.Validators[0] {
		// validator0 is the users' gateway: it announces its URL and settles
		// what it served every 5 blocks (1.5 s), so an epoch's table shows
		// the user's payments on chain; the threshold (50 MERIT, some 100
		// requests at DemoPrice) is high enough that the interval sets the pace.
		args = append(args, "--gateway-url", top.GatewayURL(v), "--settle-every", "5", "--settle-threshold", "50000000")
	}
	return args
}

// StartProc (re)starts a daemon with its arguments, appending to its log.
func (top *Topology) StartProc(p *Proc) {
	bin := filepath.Join(top.Cfg.BinDir, "merit-miner")
	if p.Role == ValidatorRole {
		bin = filepath.Join(top.Cfg.BinDir, "merit-validator")
	}
	proc, err := localnet.StartProcess(bin, p.args, p.Log)
	if err != nil {
		top.T.Fatalf("start %s: %v", p.Name, err)
	}
	p.proc = proc
}

// StopProc ends a daemon: gracefully, or with kill like a crash.
func (top *Topology) StopProc(p *Proc, kill bool) { p.proc.Stop(kill, 15*time.Second) }

// Running reports whether a daemon is alive.
func (p *Proc) Running() bool { return p.proc.Running() }

// Stop ends every daemon, then the chain.
func (top *Topology) Stop() {
	for _, p := range append(append([]*Proc{}, top.Validators...), top.Miners...) {
		top.StopProc(p, false)
	}
	top.Chain.Stop()
}

func (top *Topology) waitHTTP(p *Proc, path string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !p.Running() {
			top.T.Fatalf("%s exited; log %s:\n%s", p.Name, p.Log, localnet.Tail(p.Log, 25))
		}
		if ok(fmt.Sprintf("http://%s%s", p.Listen, path)) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	top.T.Fatalf("%s did not serve %s in %s; log %s:\n%s", p.Name, path, timeout, p.Log, localnet.Tail(p.Log, 25))
}

// waitEndpoints waits until the metagraph shows every miner at its address.
func (top *Topology) waitEndpoints(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	missing := ""
	for time.Now().Before(deadline) {
		mg, _, err := top.Metagraph()
		missing = ""
		at := map[string]string{}
		for _, n := range mg {
			at[n.Hotkey] = n.Endpoint
		}
		for _, m := range top.Miners {
			if at[top.Addr[m.Hotkey]] != m.Listen {
				missing += " " + m.Name
			}
		}
		if err == nil && missing == "" {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	top.T.Fatalf("endpoints not on chain after %s:%s", timeout, missing)
}
