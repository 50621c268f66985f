package validator

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

func newAsker(t testing.TB, timeout time.Duration) *Asker {
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewAsker(AskerConfig{Client: c, Timeout: timeout})
}

// probe asks m n prompts and grades each answer.
func probe(t testing.TB, a *Asker, ref *reference.Reference, m miners.Miner, n int) []miners.Outcome {
	t.Helper()
	gen := NewPromptGenerator(99)
	var outs []miners.Outcome
	for i := range n {
		req, err := NewProbeRequest(gen.Prompt(1, m.UID, i), ref.ModelID, 16)
		if err != nil {
			t.Fatal(err)
		}
		ex := a.Ask(context.Background(), m, req)
		o := miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: ex.Result, Reason: ex.Reason, Detail: ex.Detail}
		if ex.Result == miners.ResultOK {
			res := ref.Verify(context.Background(), reference.Check{Request: req.Engine, Parts: ex.Parts})
			switch {
			case res.Err != nil:
				t.Fatalf("verifier: %v", res.Err)
			case !res.OK:
				o.Result, o.Reason, o.Detail = miners.ResultFailedVerification, res.Reason, res.Detail
			default:
				o.TTFT, o.Latency, o.Tokens = ex.Timing.TTFT, ex.Timing.Latency, len(ex.Parts.Tokens)
			}
		}
		outs = append(outs, o)
	}
	return outs
}

func TestProbeHonestMinerVerifies(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	m := validatortest.StartMiner(t, 1, eng)
	outs := probe(t, newAsker(t, 20*time.Second), ref, m, 6)
	for _, o := range outs {
		if o.Result != miners.ResultOK {
			t.Fatalf("honest answer: %s %s %s", o.Result, o.Reason, o.Detail)
		}
		if o.Tokens == 0 || o.TTFT <= 0 || o.Latency < o.TTFT {
			t.Fatalf("timing %+v", o)
		}
	}
}

func TestProbeOtherModelFailsVerification(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	m7, tok7, err := inference.NewTiny(7)
	if err != nil {
		t.Fatal(err)
	}
	e7, err := inference.NewLocalEngine(m7, tok7, inference.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := validatortest.StartMiner(t, 2, validatortest.Disguised{Engine: e7, Claimed: eng.Info()})
	for _, o := range probe(t, newAsker(t, 20*time.Second), ref, m, 4) {
		if o.Result != miners.ResultFailedVerification {
			t.Fatalf("seed-7 model passed as merit-tiny: %+v", o)
		}
	}
}

func TestProbeRandomTokensFail(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	m := validatortest.StartMiner(t, 3, miner.WithFaults(eng, miner.Faults{RandomTokens: true}))
	for _, o := range probe(t, newAsker(t, 20*time.Second), ref, m, 3) {
		if o.Result != miners.ResultFailedVerification {
			t.Fatalf("random tokens passed: %+v", o)
		}
	}
}

func TestProbeUnreachableAndTimeout(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := miners.Miner{UID: 4, Hotkey: validatortest.NewIdentity(t, "m").Address(), Address: addr}
	if o := probe(t, newAsker(t, 5*time.Second), ref, down, 1)[0]; o.Result != miners.ResultRefused {
		t.Fatalf("closed port: %+v", o)
	}
	slow := validatortest.StartMiner(t, 5, miner.WithFaults(eng, miner.Faults{Delay: 200 * time.Millisecond}))
	if o := probe(t, newAsker(t, 500*time.Millisecond), ref, slow, 1)[0]; o.Result != miners.ResultTimeout {
		t.Fatalf("slow miner under a short timeout: %+v", o)
	}
}

func TestHonestScoresAboveSlow(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	fast := validatortest.StartMiner(t, 1, eng)
	slow := validatortest.StartMiner(t, 2, miner.WithFaults(eng, miner.Faults{Delay: 15 * time.Millisecond}))
	a := newAsker(t, 20*time.Second)
	sc := NewScorer(0.3)
	reg := map[uint16]string{1: fast.Hotkey, 2: slow.Hotkey}
	for range 2 {
		for _, o := range append(probe(t, a, ref, fast, 2), probe(t, a, ref, slow, 2)...) {
			if o.Result != miners.ResultOK {
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
	eng, ref := validatortest.TinyReference(t)
	id := validatortest.NewIdentity(t, "cheat")
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
	m := miners.Miner{UID: 6, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://")}
	gen := NewPromptGenerator(5)
	p := gen.Prompt(1, 6, 2)
	p.Chat, p.Text = false, "A completely different prompt about dragons"
	req, _ := NewProbeRequest(p, ref.ModelID, 8)
	ex := newAsker(t, 5*time.Second).Ask(context.Background(), m, req)
	if ex.Result != miners.ResultOK {
		t.Fatalf("%+v", ex)
	}
	if r := ref.Verify(context.Background(), reference.Check{Request: req.Engine, Parts: ex.Parts}); r.OK || r.Reason != reference.ReasonPromptMismatch {
		t.Fatalf("canned answer: %+v", r)
	}
	// The same canned answer for its own prompt verifies: the check is
	// about the prompt, not the content.
	req.Engine.Prompt = "Once upon a time"
	if r := ref.Verify(context.Background(), reference.Check{Request: req.Engine, Parts: ex.Parts}); !r.OK {
		t.Fatalf("own prompt: %+v", r)
	}
}
