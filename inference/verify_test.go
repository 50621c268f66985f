package inference

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func claimOf(res *Result, req GenerateRequest) Claim { return ClaimOf(req, res) }

func generate(t *testing.T, e *LocalEngine, req GenerateRequest) Claim {
	t.Helper()
	res, err := e.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return claimOf(res, req)
}

func verify(t *testing.T, e Engine, c Claim) *Verdict {
	t.Helper()
	v, err := NewVerifier(e, VerifyOptions{}).Verify(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustPass(t *testing.T, e Engine, c Claim) {
	t.Helper()
	if v := verify(t, e, c); !v.OK {
		t.Fatalf("honest claim failed: %s at %d: %s", v.Reason, v.Index, v.Detail)
	}
}

func mustFail(t *testing.T, e Engine, c Claim, want Reason) *Verdict {
	t.Helper()
	v := verify(t, e, c)
	if v.OK || (want != "" && v.Reason != want) {
		t.Fatalf("verdict ok=%v reason=%s (%s), want failure %s", v.OK, v.Reason, v.Detail, want)
	}
	return v
}

func TestVerifyHonest(t *testing.T) {
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			for _, req := range []GenerateRequest{
				{Prompt: "Once upon a time", MaxTokens: 64, TopLogprobs: 5},
				{Prompt: "The dog", MaxTokens: 64},
				{Prompt: "The dog", MaxTokens: 64, Temperature: 0.8, TopP: 0.9, Seed: 11, TopLogprobs: 2},
				{Prompt: "One day", MaxTokens: 64, Temperature: 1, Seed: 12},
				{Prompt: "One day", MaxTokens: 200, Stop: []string{"."}},
				{Prompt: "One day", MaxTokens: 200, Temperature: 0.7, Seed: 5, Stop: []string{"a", "."}},
				{Messages: []Message{{Role: "user", Content: "Tell me a story"}}, MaxTokens: 32},
			} {
				mustPass(t, e, generate(t, e, req))
			}
		})
	}
}

func TestVerifyHonestStopToken(t *testing.T) {
	e := tinyEngine(t)
	// Greedy: "42" ends with an end token (see TestGenerateStopToken).
	reqs := []GenerateRequest{{Prompt: "42", MaxTokens: 300}}
	for seed := uint64(1); seed < 6; seed++ {
		reqs = append(reqs, GenerateRequest{Prompt: "The", MaxTokens: 200, Temperature: 1, Seed: seed})
	}
	found := 0
	for _, req := range reqs {
		c := generate(t, e, req)
		if c.FinishReason != FinishStop {
			continue
		}
		found++
		mustPass(t, e, c)
		// Claiming "length" instead is inconsistent.
		c.FinishReason = FinishLength
		mustFail(t, e, c, ReasonTruncated)
	}
	if found < 2 {
		t.Fatalf("only %d completions ended with an end token", found)
	}
}

func TestVerifyDifferentSeedModel(t *testing.T) {
	e := tinyEngine(t)
	om, ot, err := NewTiny(TinySeed + 1)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewLocalEngine(om, ot, Options{})
	for _, req := range []GenerateRequest{
		{Prompt: "Once upon a time", MaxTokens: 128},
		{Prompt: "Once upon a time", MaxTokens: 128, Temperature: 0.8, Seed: 4},
	} {
		c := generate(t, other, req)
		v := mustFail(t, e, c, "")
		if v.Index > 0 {
			t.Errorf("different model detected only at token %d", v.Index)
		}
	}
}

func TestVerifyDifferentSamplingSeed(t *testing.T) {
	e := tinyEngine(t)
	req := GenerateRequest{Prompt: "The cat", MaxTokens: 64, Temperature: 1, Seed: 21}
	c := generate(t, e, req)
	c.Seed = 22
	mustFail(t, e, c, ReasonNotSampled)
	// A sampled completion passed off as greedy fails too.
	c.Seed, c.Temperature = 21, 0
	mustFail(t, e, c, ReasonNotArgmax)
}

func TestVerifyQuantizedCopy(t *testing.T) {
	for name, e := range engines(t) {
		t.Run(name, func(t *testing.T) {
			qm, err := QuantizeInt8(e.Model())
			if err != nil {
				t.Fatal(err)
			}
			if qm.SHA256 == e.Model().SHA256 {
				t.Fatal("quantized model has the same hash")
			}
			q, _ := NewLocalEngine(qm, e.Tokenizer(), Options{})
			for _, req := range []GenerateRequest{
				{Prompt: "Once upon a time", MaxTokens: 128},
				{Prompt: "The girl", MaxTokens: 128, TopLogprobs: 3},
				{Prompt: "The girl", MaxTokens: 128, Temperature: 0.8, Seed: 3},
			} {
				c := generate(t, q, req)
				v := mustFail(t, e, c, "")
				t.Logf("%s: %s at token %d; max logprob error %.4f", name, v.Reason, v.Index, v.MaxLogprobError)
			}
		})
	}
}

func TestVerifyForgeries(t *testing.T) {
	e := tinyEngine(t)
	req := GenerateRequest{Prompt: "Once upon a time", MaxTokens: 128, TopLogprobs: 3}
	honest := generate(t, e, req)
	if honest.FinishReason != FinishLength {
		t.Fatalf("want a full-length completion, got %s", honest.FinishReason)
	}
	clone := func() Claim {
		c := honest
		c.Tokens = append([]int(nil), honest.Tokens...)
		c.Logprobs = append([]float64(nil), honest.Logprobs...)
		c.TopLogprobs = make([][]TopLogprob, len(honest.TopLogprobs))
		for i, tops := range honest.TopLogprobs {
			c.TopLogprobs[i] = append([]TopLogprob(nil), tops...)
		}
		return c
	}
	tok := e.Tokenizer()
	prev := honest.PromptTokens[len(honest.PromptTokens)-1]

	t.Run("random tokens", func(t *testing.T) {
		c := clone()
		r := rand.New(rand.NewPCG(1, 2))
		for i := range c.Tokens {
			c.Tokens[i] = 3 + r.IntN(1000)
		}
		c.Text = tok.Decode(prev, c.Tokens)
		mustFail(t, e, c, ReasonNotArgmax)
	})
	t.Run("truncated as length", func(t *testing.T) {
		c := clone()
		c.Tokens, c.Logprobs, c.TopLogprobs = c.Tokens[:80], c.Logprobs[:80], c.TopLogprobs[:80]
		c.Text = tok.Decode(prev, c.Tokens)
		mustFail(t, e, c, ReasonTruncated)
	})
	t.Run("truncated as stop", func(t *testing.T) {
		c := clone()
		c.Tokens, c.Logprobs, c.TopLogprobs = c.Tokens[:80], c.Logprobs[:80], c.TopLogprobs[:80]
		c.Text = tok.Decode(prev, c.Tokens)
		c.FinishReason = FinishStop
		mustFail(t, e, c, ReasonTruncated)
	})
	t.Run("truncated text", func(t *testing.T) {
		c := clone()
		c.Text = c.Text[:len(c.Text)/2]
		mustFail(t, e, c, ReasonDecodeMismatch)
	})
	t.Run("tampered logprob", func(t *testing.T) {
		c := clone()
		c.Logprobs[50] += 0.01
		v := mustFail(t, e, c, ReasonLogprobMismatch)
		if v.Index != 50 || v.Tokens[50].OK || !v.Tokens[49].OK {
			t.Fatalf("index %d", v.Index)
		}
	})
	t.Run("inflated logprobs", func(t *testing.T) {
		c := clone()
		for i := range c.Logprobs {
			c.Logprobs[i] = min(0, c.Logprobs[i]*0.9)
		}
		mustFail(t, e, c, ReasonLogprobMismatch)
	})
	t.Run("tampered top logprob", func(t *testing.T) {
		c := clone()
		c.TopLogprobs[10][1].Logprob -= 0.05
		mustFail(t, e, c, ReasonTopLogprobMismatch)
	})
	t.Run("invented alternative", func(t *testing.T) {
		c := clone()
		c.TopLogprobs[10][2].ID = 5
		mustFail(t, e, c, ReasonTopLogprobMismatch)
	})
	t.Run("missing logprobs", func(t *testing.T) {
		c := clone()
		c.Logprobs = nil
		mustFail(t, e, c, ReasonMissingLogprobs)
		c.TopLogprobs = nil
		v, _ := NewVerifier(e, VerifyOptions{AllowMissingLogprobs: true}).Verify(context.Background(), c)
		if !v.OK {
			t.Fatalf("allowed missing logprobs: %s", v.Detail)
		}
	})
	t.Run("bad finish reason", func(t *testing.T) {
		c := clone()
		c.FinishReason = "content_filter"
		mustFail(t, e, c, ReasonBadStopReason)
	})
	t.Run("end token inside", func(t *testing.T) {
		c := clone()
		c.Tokens[5] = TokenEOS
		mustFail(t, e, c, ReasonBadStopReason)
	})
	t.Run("past stop string", func(t *testing.T) {
		c := clone()
		c.Stop = []string{c.Text[10:13]}
		mustFail(t, e, c, ReasonBadStopReason)
	})
	t.Run("too long", func(t *testing.T) {
		c := clone()
		c.MaxTokens = 100
		mustFail(t, e, c, ReasonTooLong)
	})
	t.Run("invalid token", func(t *testing.T) {
		c := clone()
		c.Tokens[3] = 99999
		mustFail(t, e, c, ReasonInvalidToken)
	})
}

// TestVerifyAfterJSON: a completion that ends inside a UTF-8 character still
// verifies after its text went through encoding/json.
func TestVerifyAfterJSON(t *testing.T) {
	e := tinyEngine(t)
	tok := e.Tokenizer()
	prompt := tok.Encode("Once", true, false)
	// Hot sampling picks byte tokens often enough to split characters.
	for seed := uint64(1); seed < 200; seed++ {
		req := GenerateRequest{PromptTokens: prompt, MaxTokens: 40, Temperature: 2, Seed: seed}
		c := generate(t, e, req)
		b, _ := json.Marshal(c.Text)
		var back string
		json.Unmarshal(b, &back)
		if back == c.Text {
			continue
		}
		c.Text = back
		mustPass(t, e, c)
		c.Text = back[1:]
		mustFail(t, e, c, ReasonDecodeMismatch)
		return
	}
	t.Fatal("no sampled completion with invalid UTF-8 found")
}
