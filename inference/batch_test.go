package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchRequests is a mix of greedy and seeded-sampled requests with prompts
// from one token to several chunks long, stop strings and alternatives.
func batchRequests(e *LocalEngine) []GenerateRequest {
	long := strings.Repeat("The little dog ran to the park and saw a big red ball. ", 6)
	var reqs []GenerateRequest
	prompts := []string{"", "Once upon a time", "Lily and Tom", long, "The cat sat", long + "Then"}
	for i := range 12 {
		r := GenerateRequest{Prompt: prompts[i%len(prompts)], MaxTokens: 6 + 9*i, TopLogprobs: i % 4}
		if i%2 == 1 {
			r.Temperature, r.TopP, r.Seed = 0.9, []float64{0, 0.9}[i/2%2], uint64(100+i)
		}
		if i == 4 {
			r.Stop = []string{"."}
		}
		if i == 7 {
			r.PromptTokens = []int{TokenBOS}
			r.Prompt = ""
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// sameResult compares two answers bit for bit: ids, pieces, logprobs,
// alternatives, text and finish reason.
func sameResult(t *testing.T, what string, got, want *Result) {
	t.Helper()
	if got.Text != want.Text || got.FinishReason != want.FinishReason || len(got.Tokens) != len(want.Tokens) {
		t.Fatalf("%s: %d tokens %q (%s), alone %d tokens %q (%s)", what, len(got.Tokens), got.Text, got.FinishReason, len(want.Tokens), want.Text, want.FinishReason)
	}
	for i, tk := range got.Tokens {
		w := want.Tokens[i]
		if tk.ID != w.ID || tk.Piece != w.Piece || tk.Text != w.Text || math.Float64bits(tk.Logprob) != math.Float64bits(w.Logprob) || len(tk.Top) != len(w.Top) {
			t.Fatalf("%s: token %d = %+v, alone %+v", what, i, tk, w)
		}
		for j, a := range tk.Top {
			if a.ID != w.Top[j].ID || math.Float64bits(a.Logprob) != math.Float64bits(w.Top[j].Logprob) {
				t.Fatalf("%s: token %d alternative %d = %+v, alone %+v", what, i, j, a, w.Top[j])
			}
		}
	}
}

// TestBatcherMatchesGenerate: requests served together by the Batcher
// (joining and leaving a batch smaller than their number, prompts prefilled
// in chunks between decoding steps) get exactly the answers and streams
// they get alone, with every kernel set; and, with the fastest kernels, in
// a batch of twelve, whose decoding steps run as two groups side by side
// once more than eight sequences decode.
func TestBatcherMatchesGenerate(t *testing.T) {
	sets := kernelSets()
	for name, e := range engines(t) {
		for i, k := range append(sets, sets[len(sets)-1]) {
			maxBatch := 5
			sub := name + "/" + k.name
			if i == len(sets) {
				maxBatch = 12
				sub += "/batch12"
			}
			t.Run(sub, func(t *testing.T) {
				k.use(t)
				reqs := batchRequests(e)
				alone := make([]*Result, len(reqs))
				for i, r := range reqs {
					res, err := e.Generate(context.Background(), r, nil)
					if err != nil {
						t.Fatal(err)
					}
					alone[i] = res
				}
				b := NewBatcher(e, BatchOptions{MaxBatch: maxBatch, PrefillTokens: 20, Threads: 2})
				defer b.Close()
				var wg sync.WaitGroup
				got := make([]*Result, len(reqs))
				streams := make([][]Token, len(reqs))
				errs := make([]error, len(reqs))
				for i, r := range reqs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						got[i], errs[i] = b.Generate(context.Background(), r, func(tk Token) error {
							streams[i] = append(streams[i], tk)
							return nil
						})
					}()
				}
				wg.Wait()
				for i := range reqs {
					if errs[i] != nil {
						t.Fatalf("request %d: %v", i, errs[i])
					}
					sameResult(t, fmt.Sprintf("request %d", i), got[i], alone[i])
					sameResult(t, fmt.Sprintf("request %d stream", i), &Result{Tokens: streams[i], Text: got[i].Text, FinishReason: got[i].FinishReason}, alone[i])
				}
				// The loop retires the last sequence just after its answer.
				st := b.Stats()
				for deadline := time.Now().Add(10 * time.Second); st.Running != 0 && time.Now().Before(deadline); st = b.Stats() {
					time.Sleep(time.Millisecond)
				}
				// Steps carried several sequences, or this test proves nothing.
				if st.Running != 0 || st.Waiting != 0 || st.KVBytes != 0 || st.Tokens < 2*st.Steps {
					t.Fatalf("stats after the requests: %+v", st)
				}
			})
		}
	}
}

// TestBatcherCancelAndAdmission: a cancelled request or one whose emit fails
// leaves the batch without disturbing the others; a full queue answers
// ErrBusy at once; a request larger than the memory bound is refused.
func TestBatcherCancelAndAdmission(t *testing.T) {
	e := tinyEngine(t)
	req := GenerateRequest{Prompt: "Once upon a time", MaxTokens: 60}
	alone, err := e.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(e, BatchOptions{MaxBatch: 2})
	defer b.Close()
	boom := errors.New("client went away")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, 3)
	var res *Result
	started := make(chan struct{}, 2)
	wg.Add(3)
	go func() {
		defer wg.Done()
		_, errs[0] = b.Generate(ctx, req, func(Token) error {
			started <- struct{}{}
			<-ctx.Done()
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		n := 0
		_, errs[1] = b.Generate(context.Background(), req, func(Token) error {
			if n++; n == 3 {
				return boom
			}
			return nil
		})
	}()
	<-started
	go func() {
		defer wg.Done()
		res, errs[2] = b.Generate(context.Background(), req, nil)
	}()
	cancel()
	wg.Wait()
	if !errors.Is(errs[0], context.Canceled) || !errors.Is(errs[1], boom) || errs[2] != nil {
		t.Fatalf("errors %v", errs)
	}
	sameResult(t, "survivor", res, alone)

	// Holding the turn stops every step: requests stay queued.
	small := NewBatcher(e, BatchOptions{MaxBatch: 1, MaxQueue: 1, KVBytes: e.SequenceBytes(100)})
	if _, err := small.Generate(context.Background(), GenerateRequest{MaxTokens: 200}, nil); !errors.Is(err, ErrContextLength) {
		t.Fatalf("oversized request: %v", err)
	}
	small.turn <- struct{}{}
	queued := make(chan error)
	go func() {
		_, err := small.Generate(context.Background(), GenerateRequest{MaxTokens: 5}, nil)
		queued <- err
	}()
	for small.Stats().Waiting == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := small.Generate(context.Background(), GenerateRequest{MaxTokens: 5}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second request with the queue full: %v", err)
	}
	<-small.turn
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
	small.Close()
	if _, err := small.Generate(context.Background(), GenerateRequest{MaxTokens: 5}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestPrefillDoesNotStall: while a long prompt is prefilled, every step
// still decodes the running streams, and prefills one chunk of the prompt
// (more only while they fit in PrefillTokens).
func TestPrefillDoesNotStall(t *testing.T) {
	e := tinyEngine(t)
	b := NewBatcher(e, BatchOptions{MaxBatch: 4, PrefillTokens: 20})
	seqOf := func(req GenerateRequest) *batchSeq {
		g, err := e.newGeneration(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &batchSeq{g: g, finished: make(chan struct{}), st: newState(e.Model(), g.positions(), 1)}
	}
	running := seqOf(GenerateRequest{Prompt: "Once upon a time", MaxTokens: 100})
	b.step([]*batchSeq{running}, nil)
	if running.g.n != 1 {
		t.Fatalf("after the first step the stream has %d tokens", running.g.n)
	}
	long := seqOf(GenerateRequest{Prompt: strings.Repeat("The little dog ran to the park. ", 20), MaxTokens: 5})
	n := len(long.g.prompt)
	steps := 0
	for long.fed < n {
		fed, tokens := long.fed, running.g.n
		b.step([]*batchSeq{running, long}, nil)
		steps++
		if running.g.n != tokens+1 {
			t.Fatalf("step %d: the running stream went from %d to %d tokens during the prefill", steps, tokens, running.g.n)
		}
		if got := long.fed - fed; got > chunkLen {
			t.Fatalf("step %d prefilled %d prompt tokens", steps, got)
		}
	}
	if steps < n/chunkLen || long.g.n != 1 {
		t.Fatalf("a %d-token prompt took %d steps and got %d tokens at its last one", n, steps, long.g.n)
	}
}
