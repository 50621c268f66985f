package inference

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestTinyIsFixed(t *testing.T) {
	m, tok, err := Tiny()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := TinyCheckpoint()
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != TinySHA256 || m.SHA256 != TinySHA256 {
		t.Fatalf("merit-tiny sha256 %s, want %s: the generator changed", got, TinySHA256)
	}
	tb, _ := TinyTokenizer()
	tsum := sha256.Sum256(tb)
	if got := hex.EncodeToString(tsum[:]); got != TinyTokenizerSHA256 {
		t.Errorf("merit-tiny tokenizer sha256 %s, want %s", got, TinyTokenizerSHA256)
	}
	if m.Config != TinyConfig || tok.VocabSize() != TinyConfig.VocabSize || len(b) != int(TinyConfig.FileSize()) {
		t.Fatalf("config %+v", m.Config)
	}
	if m.ID() != TinyID() || m.Name != TinyName {
		t.Fatalf("id %s", m.ID())
	}
	other, _, _ := NewTiny(TinySeed + 1)
	if other.SHA256 == TinySHA256 {
		t.Fatal("another seed gave the same model")
	}
	e := tinyEngine(t)
	info := e.Info()
	if info.ID != TinyID() || info.ContextLength != 512 || info.VocabSize != 1024 || info.Format != FormatLlama2C || info.Params != 1049728 {
		t.Fatalf("info %+v", info)
	}
}

// TestTinyConfident checks the property the verifier relies on: greedy
// choices of merit-tiny are rarely close calls.
func TestTinyConfident(t *testing.T) {
	e := tinyEngine(t)
	close, total := 0, 0
	for _, p := range []string{"Once upon a time", "The miner said", "Hello"} {
		res, err := e.Generate(context.Background(), GenerateRequest{Prompt: p, MaxTokens: 100, TopLogprobs: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range res.Tokens {
			total++
			if tk.Top[0].Logprob-tk.Top[1].Logprob < 0.01 {
				close++
			}
		}
	}
	if close*50 > total {
		t.Fatalf("%d of %d greedy choices within 0.01 nats of the runner-up", close, total)
	}
}
