package miner

import (
	"context"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/meritnet/merit/inference"
)

// Faults turn an honest miner into a bad one on purpose. They exist for the
// demo and the end-to-end suite, which need a slow miner and a cheating
// miner to show that validators score them down; no real miner wants them.
type Faults struct {
	// Delay is slept before each generated token is handed out.
	Delay time.Duration
	// RandomTokens replaces the model's answer by random token ids with
	// made-up logprobs, in a response of the valid shape: what a miner that
	// skips the model would send.
	RandomTokens bool
}

// Active reports whether any fault is set.
func (f Faults) Active() bool { return f.Delay > 0 || f.RandomTokens }

// WithFaults wraps e; with no fault set it returns e itself.
func WithFaults(e inference.Engine, f Faults) inference.Engine {
	if !f.Active() {
		return e
	}
	return &faultyEngine{Engine: e, f: f}
}

type faultyEngine struct {
	inference.Engine
	f Faults
}

// Unwrap is the honest engine underneath.
func (e *faultyEngine) Unwrap() inference.Engine { return e.Engine }

// promptTokener is implemented by LocalEngine: the exact prompt ids,
// whatever form the prompt came in.
type promptTokener interface {
	PromptTokens(req inference.GenerateRequest) ([]int, error)
}

// PromptTokens passes through, so streams can name the prompt's ids first.
func (e *faultyEngine) PromptTokens(req inference.GenerateRequest) ([]int, error) {
	if pt, ok := e.Engine.(promptTokener); ok {
		return pt.PromptTokens(req)
	}
	return nil, inference.ErrUnsupported
}

func (e *faultyEngine) Generate(ctx context.Context, req inference.GenerateRequest, emit func(inference.Token) error) (*inference.Result, error) {
	slow := emit
	if e.f.Delay > 0 {
		slow = func(t inference.Token) error {
			select {
			case <-time.After(e.f.Delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			if emit == nil {
				return nil
			}
			return emit(t)
		}
	}
	if !e.f.RandomTokens {
		return e.Engine.Generate(ctx, req, slow)
	}
	return e.randomAnswer(ctx, req, slow)
}

// randomAnswer invents a completion of the requested length without running
// the model. Text is decoded from the invented ids, so the answer is
// internally consistent and only a teacher-forced check exposes it.
func (e *faultyEngine) randomAnswer(ctx context.Context, req inference.GenerateRequest, emit func(inference.Token) error) (*inference.Result, error) {
	var prompt []int
	var err error
	if pt, ok := e.Engine.(promptTokener); ok {
		prompt, err = pt.PromptTokens(req)
	} else if req.PromptTokens != nil {
		prompt = req.PromptTokens
	} else {
		text := req.Prompt
		if len(req.Messages) > 0 {
			text = inference.ChatPrompt(req.Messages)
		}
		prompt, err = e.Engine.Tokenize(ctx, text, true)
	}
	if err != nil {
		return nil, err
	}
	info := e.Engine.Info()
	vocab := info.VocabSize
	if vocab <= 0 {
		vocab = 32000 // upstream that does not say; any id it can detokenize will do
	}
	// Ids from 259 on skip <unk>, BOS, EOS and the byte tokens of llama2.c
	// vocabularies, so the text stays printable and the answer never "ends".
	lo := 259
	if vocab <= lo {
		lo = min(3, vocab-1)
	}
	n := req.MaxTokens
	if n <= 0 || (info.ContextLength > 0 && n > info.ContextLength-len(prompt)) {
		n = max(1, info.ContextLength-len(prompt))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), req.Seed))
	pick := func() int { return lo + rng.IntN(vocab-lo) }
	res := &inference.Result{PromptTokens: append([]int(nil), prompt...), FinishReason: inference.FinishLength}
	prev := -1
	if len(prompt) > 0 {
		prev = prompt[len(prompt)-1]
	}
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := pick()
		piece, _ := e.Engine.Detokenize(ctx, []int{id}, prev)
		t := inference.Token{ID: id, Piece: piece, Text: piece, Logprob: -rng.Float64() * 2}
		if req.TopLogprobs > 0 {
			t.Top = append(t.Top, inference.TopLogprob{ID: id, Text: piece, Logprob: t.Logprob})
			for len(t.Top) < req.TopLogprobs {
				alt := pick()
				ap, _ := e.Engine.Detokenize(ctx, []int{alt}, prev)
				t.Top = append(t.Top, inference.TopLogprob{ID: alt, Text: ap, Logprob: t.Logprob - rng.Float64()*3})
			}
			sort.SliceStable(t.Top, func(a, b int) bool { return t.Top[a].Logprob > t.Top[b].Logprob })
		}
		res.Tokens = append(res.Tokens, t)
		res.Text += piece
		if emit != nil {
			if err := emit(t); err != nil {
				return nil, err
			}
		}
		prev = id
	}
	return res, nil
}
