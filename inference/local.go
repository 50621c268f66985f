package inference

import (
	"context"
	"fmt"
	"runtime"
	"strings"
)

// LocalEngine runs a llama2.c model in-process. The model and tokenizer are
// shared read-only; every call allocates its own KV cache, so one engine can
// serve many requests at once.
type LocalEngine struct {
	model   *Model
	tok     *Tokenizer
	threads int
}

// Options configure a LocalEngine.
type Options struct {
	// Threads bounds the goroutines of one batched pass (prompt prefill,
	// Score, and the matrix products of large models). 0 means GOMAXPROCS.
	// The results do not depend on it.
	Threads int
}

// NewLocalEngine pairs a model with its tokenizer.
func NewLocalEngine(m *Model, t *Tokenizer, opts Options) (*LocalEngine, error) {
	if t.VocabSize() != m.VocabSize {
		return nil, fmt.Errorf("%w: tokenizer has %d tokens, model %d", ErrBadTokenizer, t.VocabSize(), m.VocabSize)
	}
	th := opts.Threads
	if th <= 0 {
		th = runtime.GOMAXPROCS(0)
	}
	return &LocalEngine{model: m, tok: t, threads: th}, nil
}

// LoadLocalEngine loads a checkpoint and tokenizer file.
func LoadLocalEngine(checkpoint, tokenizer string, opts Options) (*LocalEngine, error) {
	m, err := LoadCheckpoint(checkpoint)
	if err != nil {
		return nil, err
	}
	t, err := LoadTokenizer(tokenizer, m.VocabSize)
	if err != nil {
		return nil, err
	}
	return NewLocalEngine(m, t, opts)
}

// Model returns the engine's model.
func (e *LocalEngine) Model() *Model { return e.model }

// Tokenizer returns the engine's tokenizer.
func (e *LocalEngine) Tokenizer() *Tokenizer { return e.tok }

// Info implements Engine.
func (e *LocalEngine) Info() ModelInfo {
	c := e.model.Config
	return ModelInfo{
		ID: e.model.ID(), Name: e.model.Name, SHA256: e.model.SHA256, Format: FormatLlama2C,
		ContextLength: c.SeqLen, VocabSize: c.VocabSize, Config: &c, Params: c.Params(),
	}
}

// Tokenize implements Engine.
func (e *LocalEngine) Tokenize(_ context.Context, text string, bos bool) ([]int, error) {
	return e.tok.Encode(text, bos, false), nil
}

// Detokenize implements Engine.
func (e *LocalEngine) Detokenize(_ context.Context, tokens []int, prev int) (string, error) {
	if err := e.checkTokens(tokens); err != nil {
		return "", err
	}
	return e.tok.Decode(prev, tokens), nil
}

// ChatPrompt is the builtin engine's chat template. llama2.c models have no
// chat training, so it is plain text: "role: content\n" per message, then
// "assistant:".
func ChatPrompt(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
		b.WriteByte('\n')
	}
	b.WriteString("assistant:")
	return b.String()
}

// PromptTokens resolves a request's prompt to token ids (see GenerateRequest).
func (e *LocalEngine) PromptTokens(req GenerateRequest) ([]int, error) {
	var p []int
	switch {
	case len(req.PromptTokens) > 0:
		p = req.PromptTokens
		if err := e.checkTokens(p); err != nil {
			return nil, err
		}
	case len(req.Messages) > 0:
		p = e.tok.Encode(ChatPrompt(req.Messages), true, false)
	default:
		p = e.tok.Encode(req.Prompt, true, false)
	}
	if len(p) >= e.model.SeqLen {
		return nil, fmt.Errorf("%w: prompt of %d tokens leaves no room in a context of %d", ErrContextLength, len(p), e.model.SeqLen)
	}
	return p, nil
}

func (e *LocalEngine) checkTokens(ts []int) error {
	for i, t := range ts {
		if t < 0 || t >= e.model.VocabSize {
			return fmt.Errorf("%w: token %d at index %d is outside the vocabulary (0..%d)", ErrInvalidRequest, t, i, e.model.VocabSize-1)
		}
	}
	return nil
}

func checkSampling(req GenerateRequest) error {
	switch {
	case req.MaxTokens < 0:
		return fmt.Errorf("%w: max_tokens %d is negative", ErrInvalidRequest, req.MaxTokens)
	case req.Temperature < 0 || req.Temperature != req.Temperature:
		return fmt.Errorf("%w: temperature %v must be >= 0", ErrInvalidRequest, req.Temperature)
	case req.TopP < 0 || req.TopP > 1 || req.TopP != req.TopP:
		return fmt.Errorf("%w: top_p %v must be in [0, 1]", ErrInvalidRequest, req.TopP)
	case req.TopLogprobs < 0 || req.TopLogprobs > MaxTopLogprobs:
		return fmt.Errorf("%w: top logprobs %d must be in [0, %d]", ErrInvalidRequest, req.TopLogprobs, MaxTopLogprobs)
	}
	for _, s := range req.Stop {
		if s == "" {
			return fmt.Errorf("%w: empty stop string", ErrInvalidRequest)
		}
	}
	return nil
}

// IsEndToken reports whether the builtin engine stops when it picks id:
// EOS, and BOS as run.c does (BOS separates documents in llama2.c training data).
func IsEndToken(id int) bool { return id == TokenEOS || id == TokenBOS }

// Generate implements Engine.
func (e *LocalEngine) Generate(ctx context.Context, req GenerateRequest, emit func(Token) error) (*Result, error) {
	g, err := e.newGeneration(req, emit)
	if err != nil {
		return nil, err
	}
	st := newState(e.model, g.positions(), e.threads)
	var logits []float32
	err = st.run(ctx, g.prompt, 0, len(g.prompt)-1, func(_ int, l []float32) error {
		logits = l
		return nil
	})
	if err != nil {
		return nil, err
	}
	for {
		next, done, err := g.step(logits, nil)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		logits = st.forward([]int{next}, g.pos(), 0)
	}
	return g.finish()
}

// generation is one request's decoding: the sampler, the stop-string
// filter and the answer so far. Generate and the Batcher drive it the same
// way, so a batched request's tokens and logprobs are Generate's.
type generation struct {
	e      *LocalEngine
	req    GenerateRequest
	prompt []int
	maxTok int
	res    *Result
	smp    *sampler
	filter *stopFilter
	prev   int // the last token fed to the model
	n      int // tokens chosen so far
	emit   func(Token) error
}

func (e *LocalEngine) newGeneration(req GenerateRequest, emit func(Token) error) (*generation, error) {
	if err := checkSampling(req); err != nil {
		return nil, err
	}
	prompt, err := e.PromptTokens(req)
	if err != nil {
		return nil, err
	}
	room := e.model.SeqLen - len(prompt)
	maxTok := req.MaxTokens
	if maxTok == 0 || maxTok > room {
		maxTok = room
	}
	return &generation{
		e: e, req: req, prompt: prompt, maxTok: maxTok,
		res:    &Result{PromptTokens: append([]int(nil), prompt...), FinishReason: FinishLength},
		smp:    newSampler(e.model.VocabSize, req.Temperature, req.TopP, req.Seed),
		filter: newStopFilter(req.Stop),
		prev:   prompt[len(prompt)-1],
		emit:   emit,
	}, nil
}

// positions is the KV cache the generation needs at most.
func (g *generation) positions() int { return len(g.prompt) + g.maxTok }

// pos is the position of the token step last returned.
func (g *generation) pos() int { return len(g.prompt) + g.n - 1 }

// step chooses the next token from the logits of the last position fed,
// emits what became final, and returns the token to feed next, or done. d
// is newDist(logits) when the caller has it already, else nil.
func (g *generation) step(logits []float32, d *dist) (next int, done bool, err error) {
	next = g.smp.pick(logits)
	if IsEndToken(next) {
		g.res.FinishReason = FinishStop
		return 0, true, nil
	}
	if d == nil {
		dd := newDist(logits)
		d = &dd
	}
	tok := Token{ID: next, Piece: g.e.tok.Piece(g.prev, next), Logprob: d.logprob(next)}
	tok.Top = d.tops(topK(logits, g.req.TopLogprobs), g.e.tok, g.prev)
	ready, stopped := g.filter.push(tok)
	if err := g.send(ready); err != nil {
		return 0, true, err
	}
	g.n++
	g.prev = next
	if stopped {
		g.res.FinishReason = FinishStop
		return 0, true, nil
	}
	return next, g.n == g.maxTok, nil
}

func (g *generation) send(ts []Token) error {
	for _, t := range ts {
		g.res.Tokens = append(g.res.Tokens, t)
		if g.emit != nil {
			if err := g.emit(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish emits the tokens the stop filter still held and returns the answer.
func (g *generation) finish() (*Result, error) {
	if err := g.send(g.filter.flush()); err != nil {
		return nil, err
	}
	g.res.Text = g.filter.text()
	return g.res, nil
}

// Score implements Engine: one batched teacher-forced pass.
func (e *LocalEngine) Score(ctx context.Context, req ScoreRequest) ([]PositionScore, error) {
	n := len(req.Tokens)
	switch {
	case req.From < 1 || req.From > n:
		return nil, fmt.Errorf("%w: from %d must be in [1, %d]", ErrInvalidRequest, req.From, n)
	case n-1 > e.model.SeqLen:
		return nil, fmt.Errorf("%w: %d tokens, context is %d", ErrContextLength, n, e.model.SeqLen)
	case req.TopK < 0 || req.TopK > MaxTopLogprobs:
		return nil, fmt.Errorf("%w: top k %d must be in [0, %d]", ErrInvalidRequest, req.TopK, MaxTopLogprobs)
	}
	if err := e.checkTokens(req.Tokens); err != nil {
		return nil, err
	}
	out := make([]PositionScore, 0, n-req.From)
	if req.From == n {
		return out, nil
	}
	st := newState(e.model, n-1, e.threads)
	V := e.model.VocabSize
	var rows [][]float32
	var ds []dist
	err := st.runChunks(ctx, req.Tokens[:n-1], 0, req.From-1, func(pos int, logits []float32) error {
		rows = rows[:0]
		for i := 0; i < len(logits); i += V {
			rows = append(rows, logits[i:i+V])
		}
		ds = append(ds[:0], make([]dist, len(rows))...)
		newDists(ds, rows)
		for i, row := range rows {
			out = append(out, scorePosition(row, ds[i], req.Tokens, pos+i+1, req.TopK, req.Logits, e.tok))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scorePosition(logits []float32, d dist, tokens []int, pos, k int, keep bool, tok *Tokenizer) PositionScore {
	best := topK(logits, max(k, 2))
	prev := tokens[pos-1]
	ps := PositionScore{
		Pos: pos, Token: tokens[pos], Logprob: d.logprob(tokens[pos]),
		Argmax: best[0], Gap: d.logprob(best[0]) - d.logprob(best[1]),
		Top: d.tops(best[:k], tok, prev),
	}
	if keep {
		ps.Logits = append([]float32(nil), logits...)
	}
	return ps
}
