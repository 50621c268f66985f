package miner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/internal/daemon"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// testKeyring makes a test-backend keyring with fresh keys.
func testKeyring(t *testing.T, names ...string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	kr, err := identity.Open(identity.BackendTest, dir)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, n := range names {
		rec, _, err := kr.NewMnemonic(n, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := rec.GetAddress()
		if err != nil {
			t.Fatal(err)
		}
		addrs[n], _ = addressCodec.BytesToString(a)
	}
	return dir, addrs
}

func fakeDialer(f *chaintest.Chain) daemon.Dialer {
	return func(context.Context, chain.Config) (chain.Chain, error) { return f, nil }
}

// runWith runs merit-miner against a given dialer.
func runWith(ctx context.Context, dial daemon.Dialer, args ...string) (string, string, error) {
	app := NewAppWithDialer(dial)
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.RunContext(ctx, append([]string{"merit-miner"}, args...))
	return out.String(), errOut.String(), err
}

func TestServeRefusals(t *testing.T) {
	dir, addrs := testKeyring(t, "miner", "unregistered")
	f := newFakeChain(1)
	f.AddNeuron(addrs["miner"], 0, false)
	key := []string{"--keyring-backend", "test", "--keyring-dir", dir, "--listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--hotkey", "miner", "--builtin-seed", "7"}, "model mismatch: this miner serves merit-tiny@sha256:"},
		{[]string{"serve", "--hotkey", "unregistered"}, "is not registered on subnet 1; register it first"},
		{[]string{"serve", "--hotkey", "nobody"}, "key not found"},
		{[]string{"serve"}, "--hotkey is required"},
		{[]string{"serve", "--hotkey", "miner", "--netuid", "9"}, "subnet 9 does not exist"},
		{[]string{"serve", "--hotkey", "miner", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{[]string{"serve", "--hotkey", "miner", "--max-conns-per-ip", "-1"}, "--max-conns-per-ip must not be negative"},
		{[]string{"serve", "--hotkey", "miner", "--external-address", "nohost"}, "--external-address"},
		{[]string{"serve", "--hotkey", "miner", "--engine", "openai"}, "needs --upstream"},
		{[]string{"serve", "--hotkey", "miner", "--allow", "bogus"}, "--allow"},
		{[]string{"serve", "--hotkey", "miner", "--log-format", "xml"}, "--log-format"},
	} {
		_, _, err := runWith(context.Background(), fakeDialer(f), append(tc.args, key...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
	if n := len(f.Sent()); n != 0 {
		t.Errorf("refused starts sent %d transactions", n)
	}
}

// TestServeLifecycle runs the serve command against the fake chain: it
// publishes the endpoint, answers, republishes after the chain's copy
// changes, and exits 0 on cancel (what SIGTERM does in main).
func TestServeLifecycle(t *testing.T) {
	dir, addrs := testKeyring(t, "miner")
	f := newFakeChain(1)
	f.Update(func(s *chaintest.State) { s.Subnet.Hyperparams.ServingRateLimit = 3 })
	f.AddNeuron(addrs["miner"], 0, false)
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr string
	go func() {
		var err error
		_, stderr, err = runWith(ctx, fakeDialer(f), "serve", "--hotkey", "miner", "--keyring-backend", "test", "--keyring-dir", dir,
			"--listen", addr, "--external-address", "miner.example:443", "--log-format", "json", "--metagraph-poll", "100ms")
		done <- err
	}()
	waitFor(t, 10*time.Second, "endpoint published", func() bool {
		n := published(f, addrs["miner"])
		return n.Address == "miner.example:443" && n.ModelId != "" && n.ProtocolVersion == ProtocolVersion
	})
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["registered"] != true || h["netuid"] != 1.0 {
		t.Errorf("healthz %v", h)
	}

	// Someone (a re-registration, say) changes the chain's copy: the miner
	// puts its own back, but not before serving_rate_limit blocks passed.
	f.Update(func(s *chaintest.State) {
		s.Neuron(addrs["miner"]).Neuron.Endpoint = subnettypes.Endpoint{Address: "1.2.3.4:1", UpdatedAt: s.Height}
	})
	before := len(f.Sent())
	f.Advance(1)
	time.Sleep(300 * time.Millisecond)
	if len(f.Sent()) != before {
		t.Error("republished inside the serving rate limit")
	}
	f.Advance(3)
	waitFor(t, 10*time.Second, "endpoint republished", func() bool { return published(f, addrs["miner"]).Address == "miner.example:443" })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr, `"msg":"stopped"`) || !strings.Contains(stderr, `"msg":"endpoint published"`) {
		t.Errorf("log lacks lifecycle messages:\n%s", stderr)
	}
	// The builtin engine batches: it admits --max-batch generations, and
	// the log and /healthz say so (not --concurrency's default).
	if !strings.Contains(stderr, fmt.Sprintf(`"concurrency":%d`, DefaultMaxBatch)) || h["concurrency"] != float64(DefaultMaxBatch) {
		t.Errorf("concurrency reported: healthz %v, log:\n%s", h["concurrency"], stderr)
	}
}

// serve --help tells what sizes generation for each engine.
func TestServeHelpConcurrency(t *testing.T) {
	out, _, err := runWith(context.Background(), fakeDialer(newFakeChain(1)), "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "about the number of cores for the builtin engine") ||
		!strings.Contains(out, "--max-batch 1") || !strings.Contains(out, "--max-conns-per-ip") {
		t.Errorf("serve --help:\n%s", out)
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegisterAndStatus(t *testing.T) {
	dir, addrs := testKeyring(t, "miner", "cold")
	f := newFakeChain(1)
	key := []string{"--hotkey", "miner", "--keyring-backend", "test", "--keyring-dir", dir}

	_, _, err := runWith(context.Background(), fakeDialer(f), append([]string{"register", "--owner", "cold", "--max-burn", "999"}, key...)...)
	if err == nil || !strings.Contains(err.Error(), "registration price on subnet 1 is 1000 umerit, above --max-burn 999") {
		t.Fatalf("price above max-burn: %v", err)
	}
	if len(f.Sent()) != 0 {
		t.Fatal("refused registration was broadcast")
	}
	out, _, err := runWith(context.Background(), fakeDialer(f), append([]string{"register", "--owner", "cold", "--max-burn", "1000"}, key...)...)
	if err != nil || !strings.Contains(out, "uid 0, burned 1000 umerit, owner "+addrs["cold"]) {
		t.Fatalf("register: %v %s", err, out)
	}
	msg := f.Sent()[0].(*subnettypes.MsgRegisterNeuron)
	if msg.Hotkey != addrs["miner"] || msg.Owner != addrs["cold"] || msg.MaxBurn.Int64() != 1000 {
		t.Errorf("sent %+v", msg)
	}
	out, _, err = runWith(context.Background(), fakeDialer(f), append([]string{"register", "--owner", addrs["cold"], "--max-burn", "1000"}, key...)...)
	if err != nil || !strings.Contains(out, "already registered") {
		t.Errorf("second register: %v %s", err, out)
	}

	out, _, err = runWith(context.Background(), fakeDialer(f), append([]string{"status"}, key...)...)
	for _, want := range []string{"uid:", "0", "owner:", addrs["cold"], "validator permit:  no", "endpoint:          none published"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("status lacks %q: %v\n%s", want, err, out)
		}
	}
	out, _, err = runWith(context.Background(), fakeDialer(f), append([]string{"status", "-o", "json"}, key...)...)
	var st NeuronStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.Registered || st.Hotkey != addrs["miner"] || st.Owner != addrs["cold"] || st.Stake != "0" {
		t.Errorf("status json: %v %s", err, out)
	}
}

func TestConfigFile(t *testing.T) {
	dir, addrs := testKeyring(t, "miner", "other")
	f := newFakeChain(1)
	f.AddNeuron(addrs["miner"], 0, false)
	f.AddNeuron(addrs["other"], 0, false)
	yaml := filepath.Join(t.TempDir(), "miner.yaml")
	// serve's settings may share the file; status ignores them.
	os.WriteFile(yaml, []byte(fmt.Sprintf("hotkey: other\nkeyring-backend: test\nkeyring-dir: %s\nnetuid: 1\nlisten: 127.0.0.1:0\nallow: [%s]\n", dir, addrs["miner"])), 0o600)
	status := func(args ...string) NeuronStatus {
		t.Helper()
		out, _, err := runWith(context.Background(), fakeDialer(f), append([]string{"status", "-o", "json", "--config", yaml}, args...)...)
		var st NeuronStatus
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("%v %s", err, out)
		}
		return st
	}
	if st := status(); st.Hotkey != addrs["other"] {
		t.Errorf("file: hotkey %s", st.Hotkey)
	}
	t.Setenv("MERIT_HOTKEY", "miner") // the environment beats the file
	if st := status(); st.Hotkey != addrs["miner"] {
		t.Errorf("env: hotkey %s", st.Hotkey)
	}
	if st := status("--hotkey", "other"); st.Hotkey != addrs["other"] { // the flag beats both
		t.Errorf("flag: hotkey %s", st.Hotkey)
	}

	js := filepath.Join(t.TempDir(), "miner.json")
	os.WriteFile(js, []byte(fmt.Sprintf(`{"hotkey":"miner","keyring-backend":"test","keyring-dir":%q,"max-body-bytes":1048576,"netuid":1}`, dir)), 0o600)
	if _, _, err := runWith(context.Background(), fakeDialer(f), "status", "--config", js); err != nil {
		t.Errorf("json config: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("hotkee: miner\n"), 0o600)
	if _, _, err := runWith(context.Background(), fakeDialer(f), "status", "--config", bad); err == nil || !strings.Contains(err.Error(), `unknown setting "hotkee"`) {
		t.Errorf("typo: %v", err)
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	app := NewApp()
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			if u, ok := f.(interface{ GetUsage() string }); !ok || len(u.GetUsage()) < 10 {
				t.Errorf("%s --%s has no usage text", cmd.Name, f.Names()[0])
			}
		}
		if cmd.Usage == "" {
			t.Errorf("%s has no usage", cmd.Name)
		}
	}
	out, _, err := runWith(context.Background(), daemon.DialChain, "serve", "--help")
	if err != nil || !strings.Contains(out, "--fault-random-tokens") || !strings.Contains(out, "Testing knobs") {
		t.Errorf("serve --help: %v\n%s", err, out)
	}
}

// TestServeOpenAIUpstream: --engine openai proxies to an OpenAI-compatible
// server (here merit-tiny behind the miner's own handlers, unsigned, as a
// llama.cpp or vLLM server would stand) and the answers still verify.
func TestServeOpenAIUpstream(t *testing.T) {
	up, err := NewServer(ServerConfig{Engine: tinyEngine(t), Signer: newKeySigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", up.handleModels)
	mux.HandleFunc("POST /v1/completions", up.handleCompletions)
	mux.HandleFunc("POST /v1/chat/completions", up.handleChat)
	upstream := httptest.NewServer(mux)
	defer upstream.Close()

	dir, addrs := testKeyring(t, "miner")
	kr, _ := identity.Open(identity.BackendTest, dir)
	minerID, _ := identity.Load(kr, "miner")
	f := newFakeChain(1)
	f.AddNeuron(addrs["miner"], 0, false)
	val := newKeySigner(t)
	addr := listenLoopback(t)
	listen := addr.Addr().String()
	addr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := []string{"serve", "--hotkey", "miner", "--keyring-backend", "test", "--keyring-dir", dir, "--listen", listen,
		"--engine", "openai", "--upstream", upstream.URL, "--allow", val.Address()}
	// The announced id is checked against the task like any other.
	if _, _, err := runWith(ctx, fakeDialer(f), append(args, "--model-id", "llama@sha256:00")...); err == nil || !strings.Contains(err.Error(), "model mismatch: this miner serves llama@sha256:00") {
		t.Fatalf("wrong model id: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := runWith(ctx, fakeDialer(f), append(args, "--model-id", inference.TinyID())...)
		done <- err
	}()
	waitFor(t, 10*time.Second, "published", func() bool { return published(f, addrs["miner"]).ModelId == inference.TinyID() })
	c, _ := newTransportClient(t, val)
	m := &testMiner{URL: "http://" + listen, Addr: minerID.Address()}
	maxTok, temp, top := 20, 0.0, 2
	resp, err := post(t, c, m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok, Temperature: &temp, Logprobs: &top})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %+v", err, resp)
	}
	var cr api.CompletionResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil {
		t.Fatal(err)
	}
	if vd := verify(t, claimFromCompletion(t, inference.GenerateRequest{MaxTokens: maxTok, TopLogprobs: top}, cr)); !vd.OK {
		t.Fatalf("proxied answer fails verification: %s %s", vd.Reason, vd.Detail)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
