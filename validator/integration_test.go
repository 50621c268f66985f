package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"go.uber.org/zap/zaptest"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/testutil/localchain"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// testNet is a real meritd with a merit-tiny subnet, a staked validator
// hotkey and miners served in-process by merit-miner's own server.
type testNet struct {
	t      *testing.T
	lc     *localchain.Chain
	c      *chain.Client
	ids    map[string]*identity.Identity
	netuid uint32
	uids   map[string]uint16
	miners map[string]*httptest.Server
}

func (n *testNet) tx(signer string, msgs ...sdk.Msg) *chain.TxResult {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := n.c.Broadcast(ctx, n.ids[signer], msgs...)
	if err != nil {
		n.t.Fatalf("%s: %v", signer, err)
	}
	return res
}

func (n *testNet) metagraph() *subnettypes.QueryMetagraphResponse {
	n.t.Helper()
	mg, err := n.c.Metagraph(context.Background(), n.netuid)
	if err != nil {
		n.t.Fatal(err)
	}
	return mg
}

func startTestNet(t *testing.T) *testNet {
	names := []string{"owner", "val", "valowner", "honest", "slow", "othermodel", "cheat", "minerowner"}
	lc := localchain.Start(t, localchain.Options{Accounts: names, BlockTime: 300 * time.Millisecond})
	kr, err := identity.Open(identity.BackendTest, lc.KeyringDir())
	if err != nil {
		t.Fatal(err)
	}
	n := &testNet{t: t, lc: lc, ids: map[string]*identity.Identity{}, uids: map[string]uint16{}, miners: map[string]*httptest.Server{}}
	for _, name := range names {
		if n.ids[name], err = identity.Load(kr, name, identity.WithCachedKey()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n.c, err = chain.Dial(ctx, chain.Config{GRPCAddr: lc.GRPC, RPCAddr: lc.RPC, ChainID: lc.ChainID, InclusionTimeout: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.c.Close() })

	res := n.tx("owner", &subnettypes.MsgCreateSubnet{Owner: n.ids["owner"].Address(), Name: "vtest", MaxLock: sdkmath.ZeroInt(),
		Task: subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 12}})
	var created subnettypes.MsgCreateSubnetResponse
	if err := chain.DecodeResponse(res.Data, &created); err != nil {
		t.Fatal(err)
	}
	n.netuid = created.Netuid
	s, err := n.c.Subnet(context.Background(), n.netuid)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Hyperparams
	h.Tempo, h.WeightsRateLimit, h.CommitRevealEnabled, h.RevealPeriod = 10, 2, true, 1
	h.MaxValidators, h.ImmunityPeriod, h.ActivityCutoff, h.BurnIncreaseBps = 1, 10000, 100000, 10000
	n.tx("owner", &subnettypes.MsgUpdateSubnetHyperparams{Sender: n.ids["owner"].Address(), Netuid: n.netuid, Hyperparams: h})

	for _, name := range []string{"val", "honest", "slow", "othermodel", "cheat"} {
		owner := "minerowner"
		if name == "val" {
			owner = "valowner"
		}
		res := n.tx(name, &subnettypes.MsgRegisterNeuron{Hotkey: n.ids[name].Address(), Owner: n.ids[owner].Address(), Netuid: n.netuid, MaxBurn: sdkmath.NewInt(1_000_000_000)})
		var reg subnettypes.MsgRegisterNeuronResponse
		if err := chain.DecodeResponse(res.Data, &reg); err != nil {
			t.Fatal(err)
		}
		n.uids[name] = uint16(reg.Uid)
	}
	n.tx("valowner", &subnettypes.MsgAddStake{Delegator: n.ids["valowner"].Address(), Hotkey: n.ids["val"].Address(), Netuid: n.netuid, Amount: sdkmath.NewInt(1_000_000_000)})

	tiny, err := inference.TinyEngine(inference.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	m7, tok7, err := inference.NewTiny(7)
	if err != nil {
		t.Fatal(err)
	}
	seven, err := inference.NewLocalEngine(m7, tok7, inference.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	engines := map[string]inference.Engine{
		"honest": tiny,
		"slow":   miner.WithFaults(tiny, miner.Faults{Delay: 25 * time.Millisecond}),
		// What `merit-miner serve --builtin-seed 7 --allow-model-mismatch` runs:
		// another model, announced under its own id.
		"othermodel": seven,
		// The same model passed off as merit-tiny: only verification can tell.
		"cheat": validatortest.Disguised{Engine: seven, Claimed: tiny.Info()},
	}
	for name, e := range engines {
		srv, err := miner.NewServer(miner.ServerConfig{Engine: e, Signer: n.ids[name], MaxTokens: func() int { return 12 }})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		n.miners[name] = hs
		n.tx(name, &subnettypes.MsgServeEndpoint{Hotkey: n.ids[name].Address(), Netuid: n.netuid,
			Address: strings.TrimPrefix(hs.URL, "http://"), ProtocolVersion: 1, ModelId: e.Info().ID})
	}
	// Permits are handed out at an epoch.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mg := n.metagraph()
		if mg.Neurons[n.uids["val"]].Neuron.ValidatorPermit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("validator got no permit")
		}
		time.Sleep(300 * time.Millisecond)
	}
	return n
}

// runValidator starts a validator in-process; stop cancels it and waits.
func (n *testNet) runValidator(home string) (v *Validator, stop func()) {
	n.t.Helper()
	cfg := Config{Home: home, Netuid: n.netuid, AllowPrivateEndpoints: true, ProbeInterval: time.Second, ProbeTimeout: 10 * time.Second, PromptsPerProbe: 2,
		Seed: 1, Listen: "127.0.0.1:0", PollInterval: time.Second, SpotCheck: 0.5}
	v, err := New(cfg, n.c, n.ids["val"], zaptest.NewLogger(n.t))
	if err != nil {
		n.t.Fatal(err)
	}
	return v, runValidator(n.t, v)
}

func scoreOf(v *Validator, uid uint16) MinerScore {
	for _, s := range v.Scores() {
		if s.UID == uid {
			return s
		}
	}
	return MinerScore{}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestValidatorOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts meritd")
	}
	n := startTestNet(t)
	home := t.TempDir()
	v, stop := n.runValidator(home)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	t.Run("scores", func(t *testing.T) {
		eventually(t, 90*time.Second, "honest > slow > 0 and both bad miners at zero", func() bool {
			h, s := scoreOf(v, n.uids["honest"]), scoreOf(v, n.uids["slow"])
			o, c := scoreOf(v, n.uids["othermodel"]), scoreOf(v, n.uids["cheat"])
			return h.Rounds >= 3 && h.Score > s.Score && s.Score > 0 && o.Score == 0 && c.Score == 0 &&
				o.LastResult == miners.ResultWrongModel && c.LastResult == miners.ResultFailedVerification
		})
		t.Logf("scores: %+v", v.Scores())
	})

	var pending PendingCommit
	t.Run("commit persisted and included", func(t *testing.T) {
		// Wait for a commit whose window is still a few blocks away, so the
		// validator can be stopped before revealing it.
		eventually(t, 90*time.Second, "an included commit with time left before its reveal", func() bool {
			h, err := n.lc.Height()
			if err != nil {
				return false
			}
			for _, pc := range v.Commits() {
				if pc.Status == CommitIncluded && pc.RevealFrom-h >= 4 {
					pending = pc
					return true
				}
			}
			return false
		})
	})
	stop()
	stopped = true
	onChain := func() bool {
		infos, err := n.c.Commits(context.Background(), n.netuid, n.ids["val"].Address())
		if err != nil {
			t.Fatal(err)
		}
		_, ok := findCommit(infos, pending.Hash)
		return ok
	}
	if !onChain() {
		t.Fatalf("commit %s not on chain after stopping", pending.Hash)
	}
	store, err := OpenCommitStore(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findPending(store.List(), pending.Hash); !ok {
		t.Fatal("pending commit not in the home directory")
	}

	v2, stop2 := n.runValidator(home)
	defer stop2()
	resumedRound := v2.scorer.Round()
	if resumedRound == 0 || scoreOf(v2, n.uids["honest"]).Score == 0 {
		t.Fatal("restarted validator did not resume the saved scores")
	}
	t.Run("restarted validator reveals", func(t *testing.T) {
		eventually(t, 60*time.Second, "the reveal of the first run's commit", func() bool {
			if onChain() {
				return false
			}
			if _, ok := findPending(v2.Commits(), pending.Hash); ok {
				return false // revealed, but the validator has not seen the result yet
			}
			row, err := n.c.Weights(context.Background(), n.netuid, uint32(n.uids["val"]))
			return err == nil && row.SetAt == pending.CommitBlock
		})
		row, err := n.c.Weights(context.Background(), n.netuid, uint32(n.uids["val"]))
		if err != nil {
			t.Fatal(err)
		}
		w := map[uint32]uint32{}
		for i, u := range row.Uids {
			w[u] = row.Values[i]
		}
		if w[uint32(n.uids["honest"])] != 65535 || w[uint32(n.uids["slow"])] == 0 || w[uint32(n.uids["slow"])] >= 65535 ||
			w[uint32(n.uids["cheat"])] != 0 || w[uint32(n.uids["othermodel"])] != 0 {
			t.Fatalf("revealed weights %v (uids %v)", w, n.uids)
		}
	})

	t.Run("dashboard metrics status", func(t *testing.T) {
		base := "http://" + v2.Addr()
		eventually(t, 30*time.Second, "a scored round after the restart", func() bool { return v2.scorer.Round() > resumedRound })
		code, page := httpGet(t, base+"/")
		if code != 200 || !strings.Contains(page, `<table id="metagraph">`) || !strings.Contains(page, "<svg") ||
			!strings.Contains(page, n.ids["honest"].Address()) || !strings.Contains(page, "not_argmax") && !strings.Contains(page, "failed_verification") {
			t.Fatalf("dashboard %d:\n%s", code, page)
		}
		code, metrics := httpGet(t, base+"/metrics")
		for _, want := range []string{`merit_validator_probes_total{result="ok"}`, `merit_validator_weight_submissions_total{kind="reveal",result="ok"} 1`,
			"merit_validator_miner_score{", `merit_validator_verification_failures_total{reason="wrong_model"}`} {
			if code != 200 || !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if code, body := httpGet(t, base+"/healthz"); code != 200 {
			t.Errorf("healthz %d %s", code, body)
		}
		args := []string{"--home", home, "--keyring-backend", "test", "--keyring-dir", n.lc.KeyringDir(), "--hotkey", "val",
			"--netuid", fmt.Sprint(n.netuid), "--grpc", n.lc.GRPC, "--rpc", n.lc.RPC, "--chain-id", n.lc.ChainID, "-o", "json"}
		bin := validatorBinary(t)
		out, err := exec.Command(bin, append([]string{"status"}, args...)...).Output()
		if err != nil {
			t.Fatalf("status: %v\n%s", err, out)
		}
		var rep struct {
			UID    int  `json:"uid"`
			Permit bool `json:"validator_permit"`
			Chain  *struct {
				Height          int64 `json:"height"`
				NextSubmitBlock int64 `json:"next_submit_block"`
				CommitReveal    bool  `json:"commit_reveal"`
			} `json:"chain"`
			Scores []json.RawMessage `json:"scores"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if rep.UID != int(n.uids["val"]) || !rep.Permit || rep.Chain == nil || rep.Chain.Height == 0 || rep.Chain.NextSubmitBlock == 0 ||
			len(rep.Scores) == 0 || !rep.Chain.CommitReveal {
			t.Fatalf("status %s", out)
		}
		out, err = exec.Command(bin, append([]string{"weights", "show"}, args...)...).Output()
		if err != nil {
			t.Fatalf("weights show: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), `"on_chain"`) || !strings.Contains(string(out), `"preview"`) {
			t.Fatalf("weights show:\n%s", out)
		}
	})

	t.Run("merit-validator run", func(t *testing.T) {
		// The command-line path: flags, keyring, dial, run, then a clean
		// stop on SIGINT.
		home := t.TempDir()
		listen := fmt.Sprintf("127.0.0.1:%d", localchain.FreePort(t))
		var logs bytes.Buffer
		cmd := exec.Command(validatorBinary(t), "run", "--home", home, "--keyring-backend", "test",
			"--keyring-dir", n.lc.KeyringDir(), "--hotkey", "val", "--netuid", fmt.Sprint(n.netuid), "--grpc", n.lc.GRPC,
			"--rpc", n.lc.RPC, "--chain-id", n.lc.ChainID, "--listen", listen, "--probe-interval", "1s", "--log-format", "json",
			"--allow-private-endpoints")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer func() { _ = cmd.Process.Kill() }()
		eventually(t, 60*time.Second, "a round saved by merit-validator run", func() bool {
			st, _ := LoadState(home)
			return st != nil && st.Round >= 1
		})
		if code, _ := httpGet(t, "http://"+listen+"/healthz"); code != 200 {
			t.Errorf("healthz %d", code)
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("run did not stop")
		}
		if !strings.Contains(logs.String(), `"msg":"validator started"`) {
			t.Fatalf("logs:\n%s", logs.String())
		}
	})

	t.Run("miner that goes down decays", func(t *testing.T) {
		uid := n.uids["honest"]
		before := scoreOf(v2, uid)
		n.miners["honest"].Close()
		eventually(t, 60*time.Second, "the stopped miner's score to halve", func() bool {
			s := scoreOf(v2, uid)
			return s.Rounds >= before.Rounds+2 && s.Score < before.Score*0.55 && s.LastResult == miners.ResultRefused
		})
		if s := scoreOf(v2, n.uids["slow"]); s.Score <= 0 {
			t.Fatalf("the slow miner lost its score too: %+v", s)
		}
	})
}

var (
	validatorBin     string
	validatorBinErr  error
	validatorBinOnce sync.Once
)

// validatorBinary builds merit-validator from this checkout once per test
// process: the command-line tests run the real binary.
func validatorBinary(t *testing.T) string {
	t.Helper()
	validatorBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "merit-validator-")
		if err != nil {
			validatorBinErr = err
			return
		}
		validatorBin = filepath.Join(dir, "merit-validator")
		cmd := exec.Command("go", "build", "-o", validatorBin, "./cmd/merit-validator")
		cmd.Dir = localchain.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			validatorBinErr = fmt.Errorf("build merit-validator: %w\n%s", err, out)
		}
	})
	if validatorBinErr != nil {
		t.Fatal(validatorBinErr)
	}
	return validatorBin
}

func findPending(pcs []PendingCommit, hash string) (PendingCommit, bool) {
	for _, pc := range pcs {
		if pc.Hash == hash {
			return pc, true
		}
	}
	return PendingCommit{}, false
}
