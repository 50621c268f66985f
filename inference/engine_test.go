package inference

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
)

// engines returns merit-tiny and, when its files are present, stories260K.
func engines(t *testing.T) map[string]*LocalEngine {
	m := map[string]*LocalEngine{"merit-tiny": tinyEngine(t)}
	s, err := loadStories(t, 0)
	switch {
	case os.IsNotExist(err):
		t.Logf("stories260K part skipped: test model missing (%v); set MERIT_TEST_MODELS", err)
	case err != nil:
		t.Fatal(err)
	default:
		m["stories260K"] = s
	}
	return m
}

// TestScoreEqualsGeneration: the batched teacher-forced pass reproduces the
// logprobs and alternatives of token-by-token generation exactly.
func TestScoreEqualsGeneration(t *testing.T) {
	ctx := context.Background()
	for name, e := range engines(t) {
		for _, req := range []GenerateRequest{
			{Prompt: "Once upon a time", MaxTokens: 70, TopLogprobs: 5},
			{Prompt: "The cat", MaxTokens: 50, TopLogprobs: 3, Temperature: 0.9, TopP: 0.9, Seed: 7},
			{MaxTokens: 40, TopLogprobs: 1, Temperature: 1.2, Seed: 3},
		} {
			res, err := e.Generate(ctx, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			seq := append(append([]int(nil), res.PromptTokens...), res.TokenIDs()...)
			for _, threads := range []int{1, 2, 3} {
				e2, _ := NewLocalEngine(e.Model(), e.Tokenizer(), Options{Threads: threads})
				sc, err := e2.Score(ctx, ScoreRequest{Tokens: seq, From: len(res.PromptTokens), TopK: req.TopLogprobs})
				if err != nil {
					t.Fatal(err)
				}
				if len(sc) != len(res.Tokens) {
					t.Fatalf("%s: %d scores for %d tokens", name, len(sc), len(res.Tokens))
				}
				for i, tok := range res.Tokens {
					s := sc[i]
					if s.Token != tok.ID || s.Logprob != tok.Logprob || len(s.Top) != len(tok.Top) {
						t.Fatalf("%s threads=%d pos %d: score %+v, generated %+v", name, threads, i, s, tok)
					}
					for j := range s.Top {
						if s.Top[j] != tok.Top[j] {
							t.Fatalf("%s pos %d top %d: %+v vs %+v", name, i, j, s.Top[j], tok.Top[j])
						}
					}
					if req.Temperature == 0 && s.Argmax != tok.ID {
						t.Fatalf("%s pos %d: greedy token %d is not the argmax %d", name, i, tok.ID, s.Argmax)
					}
				}
			}
		}
	}
}

// TestBatchedForwardBitIdentical compares raw logits of one chunked pass with
// position-by-position passes, bit for bit. The chunked pass splits every
// product and the attention heads between goroutines, however small.
func TestBatchedForwardBitIdentical(t *testing.T) {
	saved := parallelMinWork
	t.Cleanup(func() { parallelMinWork = saved })
	parallelMinWork = 1
	for name, e := range engines(t) {
		m := e.Model()
		toks := e.Tokenizer().Encode("Lily and Tim went to the park to play with a big red ball and a small dog.", true, false)
		for len(toks) < 2*chunkLen+5 {
			toks = append(toks, toks[1:]...)
		}
		var seq [][]float32
		st := newState(m, len(toks), 1)
		for p, tok := range toks {
			seq = append(seq, append([]float32(nil), st.forward([]int{tok}, p, 0)...))
		}
		bt := newState(m, len(toks), 2)
		err := bt.run(context.Background(), toks, 0, 0, func(pos int, l []float32) error {
			for i, v := range l {
				if math.Float32bits(v) != math.Float32bits(seq[pos][i]) {
					t.Fatalf("%s pos %d logit %d: batched %v, sequential %v", name, pos, i, v, seq[pos][i])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateDeterministicAndConcurrent(t *testing.T) {
	e := tinyEngine(t)
	ctx := context.Background()
	req := GenerateRequest{Prompt: "The miner", MaxTokens: 40, Temperature: 1, TopP: 0.95, Seed: 99, TopLogprobs: 2}
	ref, err := e.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Generate(ctx, req, nil)
			if err != nil {
				errs <- err
				return
			}
			if r.Text != ref.Text || len(r.Tokens) != len(ref.Tokens) {
				errs <- errors.New("concurrent generation differs")
				return
			}
			for i := range r.Tokens {
				if r.Tokens[i].Logprob != ref.Tokens[i].Logprob {
					errs <- errors.New("concurrent logprobs differ")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	other, _ := e.Generate(ctx, GenerateRequest{Prompt: "The miner", MaxTokens: 40, Temperature: 1, TopP: 0.95, Seed: 100}, nil)
	if other.Text == ref.Text {
		t.Error("different seeds gave the same sampled text")
	}
}

func TestGenerateEmitAndFinish(t *testing.T) {
	e := tinyEngine(t)
	ctx := context.Background()
	var streamed strings.Builder
	n := 0
	res, err := e.Generate(ctx, GenerateRequest{Prompt: "Once", MaxTokens: 25}, func(tok Token) error {
		streamed.WriteString(tok.Text)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != res.Text || n != 25 || res.FinishReason != FinishLength {
		t.Fatalf("streamed %q (%d), result %q %s", streamed.String(), n, res.Text, res.FinishReason)
	}
	if got := e.Tokenizer().Decode(res.PromptTokens[len(res.PromptTokens)-1], res.TokenIDs()); got != res.Text {
		t.Fatalf("tokens decode to %q, text %q", got, res.Text)
	}
	// emit errors stop generation.
	boom := errors.New("boom")
	if _, err := e.Generate(ctx, GenerateRequest{MaxTokens: 5}, func(Token) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("emit error: %v", err)
	}
	// Context cancellation.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Generate(cctx, GenerateRequest{MaxTokens: 5}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := e.Score(cctx, ScoreRequest{Tokens: []int{1, 5, 6}, From: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled score: %v", err)
	}
	// The context fills up: finish reason length at SeqLen.
	long := make([]int, e.Model().SeqLen-3)
	for i := range long {
		long[i] = 300 + i%50
	}
	res, err = e.Generate(ctx, GenerateRequest{PromptTokens: long}, nil)
	if err != nil || len(res.Tokens) > 3 || (len(res.Tokens) == 3) != (res.FinishReason == FinishLength) {
		t.Fatalf("full context: %v %d %s", err, len(res.Tokens), res.FinishReason)
	}
}

func TestGenerateStopToken(t *testing.T) {
	// Find a merit-tiny prompt whose greedy continuation ends with an end token.
	e := tinyEngine(t)
	for _, p := range []string{"42", "The", "A", "Hello world, this is", "x"} {
		res, err := e.Generate(context.Background(), GenerateRequest{Prompt: p, MaxTokens: 300}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.FinishReason == FinishStop {
			for _, tok := range res.Tokens {
				if IsEndToken(tok.ID) {
					t.Fatal("end token in completion")
				}
			}
			return
		}
	}
	t.Fatal("no prompt ended with an end token")
}

func TestGenerateStopStrings(t *testing.T) {
	e := tinyEngine(t)
	ctx := context.Background()
	full, _ := e.Generate(ctx, GenerateRequest{Prompt: "Once", MaxTokens: 60}, nil)
	// Use a piece of the greedy output, spanning tokens, as a stop string.
	text := full.Text
	stop := text[len(text)/2 : len(text)/2+4]
	var streamed strings.Builder
	res, err := e.Generate(ctx, GenerateRequest{Prompt: "Once", MaxTokens: 60, Stop: []string{"zzzz-never", stop}}, func(tok Token) error {
		if strings.Contains(streamed.String()+tok.Text, stop) {
			t.Errorf("stop string streamed")
		}
		streamed.WriteString(tok.Text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := text[:strings.Index(text, stop)]
	if res.Text != want || streamed.String() != want || res.FinishReason != FinishStop {
		t.Fatalf("stop %q: text %q streamed %q want %q (%s)", stop, res.Text, streamed.String(), want, res.FinishReason)
	}
	dec := e.Tokenizer().Decode(res.PromptTokens[len(res.PromptTokens)-1], res.TokenIDs())
	if !strings.HasPrefix(dec, want+stop) || strings.Contains(e.Tokenizer().Decode(res.PromptTokens[len(res.PromptTokens)-1], res.TokenIDs()[:len(res.Tokens)-1]), stop) {
		t.Fatalf("tokens %q do not end at the stop string", dec)
	}
	// A stop string that never appears changes nothing.
	res, _ = e.Generate(ctx, GenerateRequest{Prompt: "Once", MaxTokens: 60, Stop: []string{"\x00never"}}, nil)
	if res.Text != text {
		t.Fatalf("unused stop changed output")
	}
}

func TestRequestErrors(t *testing.T) {
	e := tinyEngine(t)
	ctx := context.Background()
	bad := []GenerateRequest{
		{MaxTokens: -1},
		{Temperature: -1},
		{TopP: 2},
		{TopLogprobs: 21},
		{Stop: []string{""}},
		{PromptTokens: []int{1, 5000}},
	}
	for _, r := range bad {
		if _, err := e.Generate(ctx, r, nil); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := e.Generate(ctx, GenerateRequest{PromptTokens: make([]int, 512)}, nil); !errors.Is(err, ErrContextLength) {
		t.Errorf("long prompt: %v", err)
	}
	for _, r := range []ScoreRequest{{Tokens: []int{1, 2}, From: 0}, {Tokens: []int{1, 2}, From: 3}, {Tokens: []int{1, -2}, From: 1}, {Tokens: []int{1, 2}, From: 1, TopK: 99}} {
		if _, err := e.Score(ctx, r); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := e.Score(ctx, ScoreRequest{Tokens: make([]int, 600), From: 1}); !errors.Is(err, ErrContextLength) {
		t.Errorf("long score: %v", err)
	}
	if _, err := e.Detokenize(ctx, []int{-1}, -1); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("detokenize: %v", err)
	}
}

func TestChatPrompt(t *testing.T) {
	e := tinyEngine(t)
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}
	if got := ChatPrompt(msgs); got != "system: Be brief.\nuser: Hi\nassistant:" {
		t.Fatalf("%q", got)
	}
	res, err := e.Generate(context.Background(), GenerateRequest{Messages: msgs, MaxTokens: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.Tokenizer().Encode(ChatPrompt(msgs), true, false); len(res.PromptTokens) != len(want) {
		t.Fatalf("chat prompt tokens %v", res.PromptTokens)
	}
}
