package miner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/internal/daemon"
	"github.com/meritnet/merit/testutil/localchain"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// realSubnet is a running meritd with a merit-tiny subnet, a registered
// miner hotkey, a validator with a permit, a registered neuron without
// one, and a funded key that never registered.
type realSubnet struct {
	lc      *localchain.Chain
	ch      chain.Chain
	netuid  uint32
	ids     map[string]*identity.Identity
	keyArgs []string // flags selecting the chain's test keyring and node
}

func startRealSubnet(t *testing.T) *realSubnet {
	t.Helper()
	if testing.Short() {
		t.Skip("starts meritd; skipped with -short")
	}
	lc := localchain.Start(t, localchain.Options{Accounts: []string{"owner", "miner", "val", "other", "stranger"}, BlockTime: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ch, err := chain.Dial(ctx, chain.Config{GRPCAddr: lc.GRPC, RPCAddr: lc.RPC})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	kr, err := identity.Open(identity.BackendTest, lc.KeyringDir())
	if err != nil {
		t.Fatal(err)
	}
	rs := &realSubnet{lc: lc, ch: ch, ids: map[string]*identity.Identity{}}
	for _, n := range []string{"owner", "miner", "val", "other", "stranger"} {
		if rs.ids[n], err = identity.Load(kr, n, identity.WithCachedKey()); err != nil {
			t.Fatal(err)
		}
	}
	rs.keyArgs = []string{"--keyring-backend", "test", "--keyring-dir", lc.KeyringDir(), "--grpc", lc.GRPC, "--rpc", lc.RPC}

	task := subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 64}
	res, err := ch.Broadcast(ctx, rs.ids["owner"], &subnettypes.MsgCreateSubnet{Owner: rs.ids["owner"].Address(), Name: "tiny", Task: task, MaxLock: sdkmath.ZeroInt()})
	if err != nil {
		t.Fatal(err)
	}
	var created subnettypes.MsgCreateSubnetResponse
	if err := chain.DecodeResponse(res.Data, &created); err != nil {
		t.Fatal(err)
	}
	rs.netuid = created.Netuid
	sn, err := ch.Subnet(ctx, rs.netuid)
	if err != nil {
		t.Fatal(err)
	}
	// Short epochs so the validator's permit arrives quickly; weights in
	// the clear; endpoint updates every 2 blocks.
	hp := sn.Hyperparams
	hp.Tempo, hp.CommitRevealEnabled, hp.ServingRateLimit = 3, false, 2
	if _, err := ch.Broadcast(ctx, rs.ids["owner"], &subnettypes.MsgUpdateSubnetHyperparams{Sender: rs.ids["owner"].Address(), Netuid: rs.netuid, Hyperparams: hp}); err != nil {
		t.Fatal(err)
	}
	// The miner registers with the command under test, naming its owner by
	// key name; the others directly.
	out, _, err := runWith(ctx, daemon.DialChain, append([]string{"register", "--hotkey", "miner", "--netuid", fmt.Sprint(rs.netuid), "--owner", "owner", "--max-burn", "1000000000"}, rs.keyArgs...)...)
	if err != nil || !strings.Contains(out, "registered hotkey "+rs.ids["miner"].Address()) || !strings.Contains(out, "burned 100000 umerit") {
		t.Fatalf("register: %v\n%s", err, out)
	}
	for _, n := range []string{"val", "other"} {
		if _, err := ch.Broadcast(ctx, rs.ids[n], &subnettypes.MsgRegisterNeuron{Hotkey: rs.ids[n].Address(), Owner: rs.ids[n].Address(), Netuid: rs.netuid, MaxBurn: sdkmath.NewInt(1_000_000_000)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ch.Broadcast(ctx, rs.ids["val"], &subnettypes.MsgAddStake{Delegator: rs.ids["val"].Address(), Hotkey: rs.ids["val"].Address(), Netuid: rs.netuid, Amount: sdkmath.NewInt(10_000_000_000)}); err != nil {
		t.Fatal(err)
	}
	rs.waitMetagraph(t, "validator permit", func(mg *subnettypes.QueryMetagraphResponse) bool {
		n := findNeuron(mg, rs.ids["val"].Address())
		return n != nil && n.Neuron.ValidatorPermit
	})
	return rs
}

func (rs *realSubnet) waitMetagraph(t *testing.T, what string, cond func(*subnettypes.QueryMetagraphResponse) bool) *subnettypes.QueryMetagraphResponse {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mg, err := rs.ch.Metagraph(context.Background(), rs.netuid)
		if err == nil && cond(mg) {
			return mg
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAgainstRealChain is the miner end to end on a real meritd: serve
// publishes the endpoint, a permitted validator gets verifiable answers
// (plain and streamed), everyone else is refused and counted, a full queue
// answers 503, a wrong model refuses to start, status reads the chain,
// and a stop signal ends serve cleanly.
func TestAgainstRealChain(t *testing.T) {
	rs := startRealSubnet(t)
	netuid := fmt.Sprint(rs.netuid)

	// A different model refuses to start, before touching the chain's state.
	_, _, err := runWith(context.Background(), daemon.DialChain, append([]string{"serve", "--hotkey", "miner", "--netuid", netuid, "--builtin-seed", "7", "--listen", "127.0.0.1:0"}, rs.keyArgs...)...)
	if err == nil || !strings.Contains(err.Error(), "model mismatch") || !strings.Contains(err.Error(), inference.TinyID()) {
		t.Fatalf("mismatched model: %v", err)
	}

	port := localchain.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	var logs string
	go func() {
		var err error
		_, logs, err = runWith(ctx, daemon.DialChain, append([]string{"serve", "--hotkey", "miner", "--netuid", netuid, "--listen", addr,
			"--log-format", "json", "--metagraph-poll", "1s", "--rate-limit", "50"}, rs.keyArgs...)...)
		done <- err
	}()

	// The endpoint appears in the metagraph.
	mg := rs.waitMetagraph(t, "endpoint on chain", func(mg *subnettypes.QueryMetagraphResponse) bool {
		n := findNeuron(mg, rs.ids["miner"].Address())
		return n != nil && n.Neuron.Endpoint.Address == addr
	})
	ep := findNeuron(mg, rs.ids["miner"].Address()).Neuron.Endpoint
	if ep.ModelId != inference.TinyID() || ep.ProtocolVersion != ProtocolVersion {
		t.Fatalf("endpoint %+v", ep)
	}
	m := &testMiner{URL: "http://" + ep.Address, Addr: rs.ids["miner"].Address()}
	waitFor(t, 10*time.Second, "miner healthy", func() bool {
		r, err := http.Get(m.URL + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	})

	// The permitted validator gets an answer that verifies.
	val, _ := newTransportClient(t, rs.ids["val"])
	maxTok, temp, top := 32, 0.0, 2
	req := api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok, Temperature: &temp, Logprobs: &top}
	resp, err := post(t, val, m, "/v1/completions", req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("validator: %v %+v", err, resp)
	}
	var cr api.CompletionResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil {
		t.Fatal(err)
	}
	if vd := verify(t, claimFromCompletion(t, inference.GenerateRequest{MaxTokens: maxTok, TopLogprobs: top}, cr)); !vd.OK {
		t.Fatalf("answer fails verification: %s %s", vd.Reason, vd.Detail)
	}

	// Streaming, end to end with the signed trailer.
	sr, err := val.Stream(context.Background(), "POST", m.URL+"/v1/chat/completions", m.Addr,
		mustJSON(t, api.ChatCompletionRequest{Messages: []api.ChatMessage{{Role: "user", Content: "hi"}}, MaxTokens: &maxTok, Temperature: &temp, Stream: true}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(sr.Body)
	sr.Body.Close()
	if err != nil || !strings.Contains(string(data), `"token_ids":[`) || !strings.HasSuffix(strings.TrimSpace(string(data)), "data: [DONE]") {
		t.Fatalf("stream: %v\n%s", err, data)
	}

	// Everyone else is refused.
	for name, want := range map[string]string{"stranger": "not registered", "other": "holds no validator permit"} {
		c, _ := newTransportClient(t, rs.ids[name])
		_, err := post(t, c, m, "/v1/completions", req)
		if code, reason := refusal(t, err); code != 403 || reason != "forbidden" {
			t.Errorf("%s: %d %s (%s)", name, code, reason, want)
		}
	}
	r, err := http.Post(m.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Errorf("unsigned: %d", r.StatusCode)
	}
	rp := &replayer{}
	rc, _ := transport.NewClient(rs.ids["val"], &http.Client{Transport: rp})
	if _, err := post(t, rc, m, "/v1/completions", req); err != nil {
		t.Fatal(err)
	}
	if r := rp.replay(t); r.StatusCode != 401 || r.Header.Get(transport.HeaderError) != "replay" {
		t.Errorf("replay: %d", r.StatusCode)
	}
	metrics := scrape(t, m.URL)
	for _, want := range []string{
		`merit_miner_rejections_total{reason="forbidden"} 2`,
		`merit_miner_rejections_total{reason="missing_signature"} 1`,
		`merit_miner_rejections_total{reason="replay"} 1`,
		`merit_miner_requests_total{code="200",endpoint="/v1/completions"} 2`,
		`merit_miner_permitted_validators 1`,
		`merit_miner_endpoint_current 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// status reads the same neuron.
	out, _, err := runWith(context.Background(), daemon.DialChain, append([]string{"status", "--hotkey", "miner", "--netuid", netuid, "-o", "json"}, rs.keyArgs...)...)
	var st NeuronStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Endpoint.Address != addr || st.Owner != rs.ids["owner"].Address() || st.ValidatorPermit {
		t.Errorf("status: %v %s", err, out)
	}

	stop() // SIGTERM, in effect
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs)
		}
		t.Logf("serve log:\n%s", logs)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	// A full queue answers 503, with the access rules of the real chain.
	testQueueFullOnChain(t, rs)

	// The real binary moves to another port: the endpoint follows, and
	// SIGTERM ends it with status 0.
	testBinaryRepublishesAndStops(t, rs)
}

func testBinaryRepublishesAndStops(t *testing.T, rs *realSubnet) {
	bin := os.Getenv("MERIT_MINER_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "merit-miner")
		build := exec.Command("go", "build", "-o", bin, "./cmd/merit-miner")
		build.Dir = localchain.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build merit-miner: %v\n%s", err, out)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", localchain.FreePort(t))
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--log-format", "json"}, rs.keyArgs...)...)
	// Settings from the environment, as a service manager would pass them.
	cmd.Env = append(os.Environ(), "MERIT_HOTKEY=miner", fmt.Sprintf("MERIT_NETUID=%d", rs.netuid))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	rs.waitMetagraph(t, "endpoint moved", func(mg *subnettypes.QueryMetagraphResponse) bool {
		n := findNeuron(mg, rs.ids["miner"].Address())
		return n != nil && n.Neuron.Endpoint.Address == addr
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("merit-miner exited with %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("merit-miner ignored SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

func testQueueFullOnChain(t *testing.T, rs *realSubnet) {
	w := NewWatcher(WatcherConfig{Chain: rs.ch, Netuid: rs.netuid, Self: rs.ids["miner"].Address()})
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	acc, _ := NewAccess(AccessConfig{Metagraph: w, Netuid: rs.netuid})
	m := startTestMiner(t, ServerConfig{
		Engine: WithFaults(tinyEngine(t), Faults{Delay: 50 * time.Millisecond}), Signer: rs.ids["miner"],
		Authorize: acc.Authorize, Concurrency: 1, QueueSize: -1,
	})
	val, _ := newTransportClient(t, rs.ids["val"])
	maxTok := 10
	body := api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok}
	first := make(chan error, 1)
	go func() {
		r, err := post(t, val, m, "/v1/completions", body)
		if err == nil && r.StatusCode != 200 {
			err = fmt.Errorf("status %d", r.StatusCode)
		}
		first <- err
	}()
	waitFor(t, 5*time.Second, "slot taken", func() bool { _, run := m.queue.depth(); return run == 1 })
	r, err := post(t, val, m, "/v1/completions", body)
	if err != nil || r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("second: %v %+v", err, r)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	r, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}
