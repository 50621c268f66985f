// Package inference is Merit's model engine: a pure-Go llama2.c transformer
// with deterministic arithmetic, the built-in model merit-tiny, a
// teacher-forced verifier, and the Engine interface that both daemons use.
// docs/inference.md describes formats, determinism and the verification rules.
package inference

import (
	"context"
	"errors"
)

// Engine is a source of completions and of teacher-forced scores. The builtin
// LocalEngine and the OpenAI-compatible upstream backend (package
// inference/openai) implement it. Implementations are safe for concurrent use.
type Engine interface {
	// Info describes the served model.
	Info() ModelInfo
	// Tokenize encodes text, with a leading BOS when bos is true.
	Tokenize(ctx context.Context, text string, bos bool) ([]int, error)
	// Detokenize decodes tokens; prev is the token before tokens[0] (-1 for
	// none), which some tokenizers need (llama2.c drops a leading space after BOS).
	Detokenize(ctx context.Context, tokens []int, prev int) (string, error)
	// Generate produces a completion, calling emit for every token as soon as
	// it is final. An error from emit stops generation and is returned.
	Generate(ctx context.Context, req GenerateRequest, emit func(Token) error) (*Result, error)
	// Score runs one teacher-forced pass over req.Tokens and returns, for
	// every position from req.From on, the model's distribution at that
	// position (the prediction of Tokens[pos] given Tokens[:pos]).
	Score(ctx context.Context, req ScoreRequest) ([]PositionScore, error)
}

// ModelInfo describes an engine's model.
type ModelInfo struct {
	// ID is "name@sha256:<hex of the checkpoint file>" for local models, or
	// whatever identifier the upstream was configured with.
	ID            string `json:"id"`
	Name          string `json:"name"`
	SHA256        string `json:"sha256,omitempty"`
	Format        string `json:"format"` // FormatLlama2C or FormatOpenAI
	ContextLength int    `json:"context_length"`
	VocabSize     int    `json:"vocab_size"`
	// Config is the transformer shape; nil for remote models.
	Config *Config `json:"config,omitempty"`
	Params int64   `json:"params,omitempty"`
}

// Engine formats reported in ModelInfo.Format.
const (
	FormatLlama2C = "llama2.c"
	FormatOpenAI  = "openai"
)

// MaxTopLogprobs bounds the alternatives per token, as OpenAI does.
const MaxTopLogprobs = 20

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// GenerateRequest asks for a completion. The prompt is PromptTokens if set,
// else Messages (through the engine's chat template) if set, else Prompt.
type GenerateRequest struct {
	Prompt       string
	PromptTokens []int
	Messages     []Message
	// MaxTokens is the most completion tokens; 0 means up to the context length.
	MaxTokens int
	// Temperature 0 is greedy decoding. Otherwise tokens are drawn with the
	// sampler specified in docs/inference.md, seeded by Seed, restricted to
	// the nucleus TopP when 0 < TopP < 1.
	Temperature float64
	TopP        float64
	Seed        uint64
	// TopLogprobs is how many alternatives each Token carries (0..MaxTopLogprobs).
	TopLogprobs int
	// Stop strings end generation; the returned text stops before the first one.
	Stop []string
}

// TopLogprob is one alternative at a position.
type TopLogprob struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob"`
}

// Token is one generated token.
type Token struct {
	ID int
	// Piece is the token's full decoded bytes (may be part of a UTF-8 character).
	Piece string
	// Text is the part of Piece that belongs to the visible completion: equal
	// to Piece except around a stop string. Concatenating Text of all emitted
	// tokens gives Result.Text.
	Text string
	// Logprob is the natural-log probability of ID under the model's raw
	// distribution (temperature 1, no top-p), independent of sampling settings.
	Logprob float64
	// Top holds the most likely tokens at this position, best first.
	Top []TopLogprob
}

// FinishReason says why generation ended.
type FinishReason string

// Finish reasons, as in the OpenAI API.
const (
	// FinishStop: the model chose an end token (EOS or BOS) or a stop string
	// appeared. End tokens are not part of the completion.
	FinishStop FinishReason = "stop"
	// FinishLength: MaxTokens were generated or the context is full.
	FinishLength FinishReason = "length"
)

// Result is a finished completion.
type Result struct {
	PromptTokens []int
	Tokens       []Token
	Text         string
	FinishReason FinishReason
}

// TokenIDs lists the completion's token ids.
func (r *Result) TokenIDs() []int {
	ids := make([]int, len(r.Tokens))
	for i, t := range r.Tokens {
		ids[i] = t.ID
	}
	return ids
}

// ScoreRequest asks for a teacher-forced pass.
type ScoreRequest struct {
	Tokens []int
	// From is the first position scored, at least 1 (position 0 has no
	// prediction). Earlier positions are only context.
	From int
	// TopK alternatives per position (0..MaxTopLogprobs).
	TopK int
	// Logits includes the raw logits of every scored position (needed to
	// replay sampled completions).
	Logits bool
}

// PositionScore is the model's prediction at one position.
type PositionScore struct {
	Pos     int     // index in ScoreRequest.Tokens
	Token   int     // Tokens[Pos]
	Logprob float64 // log probability of Token
	Argmax  int     // most likely token (lowest id on exact ties)
	// Gap is logprob(best) - logprob(second best), >= 0: how decisive the
	// greedy choice is.
	Gap    float64
	Top    []TopLogprob
	Logits []float32 `json:",omitempty"`
}

// Errors shared by engines. Test with errors.Is.
var (
	ErrInvalidRequest = errors.New("invalid request")
	ErrContextLength  = errors.New("exceeds the model's context length")
	ErrUnsupported    = errors.New("not supported by this engine")
)
