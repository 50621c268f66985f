package inference

import (
	"context"
	"math"
	"testing"
)

// goldenLogitsHash pins merit-tiny's logits for a fixed sequence, bit for
// bit. Every architecture must reproduce it: CI runs it on amd64 (vector and
// scalar kernels) and 386; arm64, ppc64le and s390x machines must match too.
const goldenLogitsHash = 0xef028c12ba50cf34

func TestGoldenLogits(t *testing.T) {
	e := tinyEngine(t)
	toks := e.Tokenizer().Encode("Merit pays miners for honest tokens: every logit is checked, bit for bit.", true, false)
	st := newState(e.Model(), len(toks), 2)
	var h uint64 = 14695981039346656037
	err := st.run(context.Background(), toks, 0, 0, func(_ int, l []float32) error {
		for _, v := range l {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Generate(context.Background(), GenerateRequest{PromptTokens: toks, MaxTokens: 20, TopLogprobs: 3, Temperature: 0.9, Seed: 5}, nil)
	for _, tk := range res.Tokens {
		h = (h ^ math.Float64bits(tk.Logprob)) * 1099511628211
		h = (h ^ uint64(tk.ID)) * 1099511628211
	}
	if h != goldenLogitsHash {
		t.Errorf("logits hash %#x, want %#x: the arithmetic changed or this machine computes differently", h, uint64(goldenLogitsHash))
	}
}
