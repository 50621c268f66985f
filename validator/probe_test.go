package validator

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/miner"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var (
	tinyOnce sync.Once
	tinyEng  *inference.LocalEngine
	tinyRef  *Reference
)

func tinyReference(t testing.TB) (*inference.LocalEngine, *Reference) {
	t.Helper()
	tinyOnce.Do(func() {
		var err error
		if tinyEng, err = inference.TinyEngine(inference.Options{}); err != nil {
			t.Fatal(err)
		}
		task := subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: "llama2c", MaxTokens: 24}
		if tinyRef, err = NewReference(context.Background(), task, ReferenceConfig{}); err != nil {
			t.Fatal(err)
		}
	})
	return tinyEng, tinyRef
}

// disguised serves one model while claiming to be another, as a cheating
// miner would (the real miner refuses requests for a model it does not
// announce, so the cheat must lie about its id).
type disguised struct {
	inference.Engine
	info inference.ModelInfo
}

func (d disguised) Info() inference.ModelInfo { return d.info }

// startMiner runs merit-miner's real HTTP server in-process on loopback.
func startMiner(t testing.TB, uid uint16, e inference.Engine) Miner {
	t.Helper()
	id := newIdentity(t, "miner")
	srv, err := miner.NewServer(miner.ServerConfig{Engine: e, Signer: id, MaxTokens: func() int { return 24 }, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return Miner{UID: uid, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://"), ModelID: e.Info().ID}
}

func newAsker(t testing.TB, timeout time.Duration) *Asker {
	c, err := transport.NewClient(newIdentity(t, "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Asker{Client: c, Timeout: timeout}
}

// probe asks m n prompts and grades each answer.
func probe(t testing.TB, a *Asker, ref *Reference, m Miner, n int) []Outcome {
	t.Helper()
	gen := NewPromptGenerator(99)
	var outs []Outcome
	for i := range n {
		req, err := NewProbeRequest(gen.Prompt(1, m.UID, i), ref.ModelID, 16)
		if err != nil {
			t.Fatal(err)
		}
		ex := a.Ask(context.Background(), m, req)
		o := Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: ex.Result, Reason: ex.Reason, Detail: ex.Detail}
		if ex.Result == ResultOK {
			res := ref.Verify(context.Background(), Check{Request: req.Engine, Parts: ex.Parts})
			switch {
			case res.Err != nil:
				t.Fatalf("verifier: %v", res.Err)
			case !res.OK:
				o.Result, o.Reason, o.Detail = ResultFailedVerification, res.Reason, res.Detail
			default:
				o.TTFT, o.Latency, o.Tokens = ex.Timing.TTFT, ex.Timing.Latency, len(ex.Parts.Tokens)
			}
		}
		outs = append(outs, o)
	}
	return outs
}

func TestProbeHonestMinerVerifies(t *testing.T) {
	eng, ref := tinyReference(t)
	m := startMiner(t, 1, eng)
	outs := probe(t, newAsker(t, 20*time.Second), ref, m, 6)
	for _, o := range outs {
		if o.Result != ResultOK {
			t.Fatalf("honest answer: %s %s %s", o.Result, o.Reason, o.Detail)
		}
		if o.Tokens == 0 || o.TTFT <= 0 || o.Latency < o.TTFT {
			t.Fatalf("timing %+v", o)
		}
	}
}

func TestProbeOtherModelFailsVerification(t *testing.T) {
	eng, ref := tinyReference(t)
	m7, tok7, err := inference.NewTiny(7)
	if err != nil {
		t.Fatal(err)
	}
	e7, err := inference.NewLocalEngine(m7, tok7, inference.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := startMiner(t, 2, disguised{Engine: e7, info: eng.Info()})
	for _, o := range probe(t, newAsker(t, 20*time.Second), ref, m, 4) {
		if o.Result != ResultFailedVerification {
			t.Fatalf("seed-7 model passed as merit-tiny: %+v", o)
		}
	}
}

func TestProbeRandomTokensFail(t *testing.T) {
	eng, ref := tinyReference(t)
	m := startMiner(t, 3, miner.WithFaults(eng, miner.Faults{RandomTokens: true}))
	for _, o := range probe(t, newAsker(t, 20*time.Second), ref, m, 3) {
		if o.Result != ResultFailedVerification {
			t.Fatalf("random tokens passed: %+v", o)
		}
	}
}

func TestProbeUnreachableAndTimeout(t *testing.T) {
	eng, ref := tinyReference(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := Miner{UID: 4, Hotkey: newIdentity(t, "m").Address(), Address: addr}
	if o := probe(t, newAsker(t, 5*time.Second), ref, down, 1)[0]; o.Result != ResultRefused {
		t.Fatalf("closed port: %+v", o)
	}
	slow := startMiner(t, 5, miner.WithFaults(eng, miner.Faults{Delay: 200 * time.Millisecond}))
	if o := probe(t, newAsker(t, 500*time.Millisecond), ref, slow, 1)[0]; o.Result != ResultTimeout {
		t.Fatalf("slow miner under a short timeout: %+v", o)
	}
}

func TestHonestScoresAboveSlow(t *testing.T) {
	eng, ref := tinyReference(t)
	fast := startMiner(t, 1, eng)
	slow := startMiner(t, 2, miner.WithFaults(eng, miner.Faults{Delay: 15 * time.Millisecond}))
	a := newAsker(t, 20*time.Second)
	sc := NewScorer(0.3)
	reg := map[uint16]string{1: fast.Hotkey, 2: slow.Hotkey}
	for range 2 {
		for _, o := range append(probe(t, a, ref, fast, 2), probe(t, a, ref, slow, 2)...) {
			if o.Result != ResultOK {
				t.Fatalf("%+v", o)
			}
			sc.Record(o)
		}
		sc.CloseRound(reg, time.Now())
	}
	f, s := sc.Score(1), sc.Score(2)
	if !(f > s && s > 0) {
		t.Fatalf("honest %v, slow %v", f, s)
	}
}

// A miner that answers a different (say cached) prompt than the one sent
// is caught by its prompt_token_ids, even though its tokens are the model's.
func TestProbePromptMismatch(t *testing.T) {
	eng, ref := tinyReference(t)
	id := newIdentity(t, "cheat")
	res, err := eng.Generate(context.Background(), inference.GenerateRequest{Prompt: "Once upon a time", MaxTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	canned, _ := json.Marshal(api.CompletionResponse{Object: api.ObjectTextCompletion, Model: ref.ModelID,
		Choices: []api.CompletionChoice{{Text: res.Text, Logprobs: api.CompletionLogprobsOf(res.Tokens, 0), FinishReason: api.FinishReason(res.FinishReason),
			PromptTokenIDs: res.PromptTokens, TokenIDs: res.TokenIDs()}}})
	v, err := transport.NewVerifier(transport.VerifierConfig{Signer: id})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(canned)
	})))
	defer hs.Close()
	m := Miner{UID: 6, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://")}
	gen := NewPromptGenerator(5)
	p := gen.Prompt(1, 6, 2)
	p.Chat, p.Text = false, "A completely different prompt about dragons"
	req, _ := NewProbeRequest(p, ref.ModelID, 8)
	ex := newAsker(t, 5*time.Second).Ask(context.Background(), m, req)
	if ex.Result != ResultOK {
		t.Fatalf("%+v", ex)
	}
	if r := ref.Verify(context.Background(), Check{Request: req.Engine, Parts: ex.Parts}); r.OK || r.Reason != ReasonPromptMismatch {
		t.Fatalf("canned answer: %+v", r)
	}
	// The same canned answer for its own prompt verifies: the check is
	// about the prompt, not the content.
	req.Engine.Prompt = "Once upon a time"
	if r := ref.Verify(context.Background(), Check{Request: req.Engine, Parts: ex.Parts}); !r.OK {
		t.Fatalf("own prompt: %+v", r)
	}
}
