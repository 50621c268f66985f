package openai

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// Score implements inference.Engine with vLLM's echo: one /v1/completions
// request with the tokens as prompt, echo, logprobs and max_tokens 1 returns
// the logprobs of every prompt position in one prefill pass. llama.cpp's
// server and the plain API cannot score a given sequence (ErrUnsupported),
// and no upstream returns raw logits (req.Logits is ignored).
func (b *Backend) Score(ctx context.Context, req inference.ScoreRequest) ([]inference.PositionScore, error) {
	st, err := b.ready(ctx)
	if err != nil {
		return nil, err
	}
	n := len(req.Tokens)
	if req.From < 1 || req.From > n {
		return nil, fmt.Errorf("%w: from %d must be in [1, %d]", inference.ErrInvalidRequest, req.From, n)
	}
	if st.dialect != DialectVLLM {
		return nil, fmt.Errorf("score: %w (dialect %s; only vLLM returns prompt logprobs)", inference.ErrUnsupported, st.dialect)
	}
	k := max(req.TopK, 2) // two alternatives give the argmax gap
	body := map[string]any{
		"model": st.model, "prompt": req.Tokens, "max_tokens": 1, "temperature": 0,
		"echo": true, "logprobs": k, "return_tokens_as_token_ids": true,
	}
	var resp api.CompletionResponse
	if err := b.call(ctx, http.MethodPost, "/v1/completions", body, &resp); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if len(resp.Choices) == 0 || resp.Choices[0].Logprobs == nil {
		return nil, fmt.Errorf("score: %w", ErrMissingLogprobs)
	}
	lp := resp.Choices[0].Logprobs
	if len(lp.Tokens) < n || len(lp.TokenLogprobs) < n || len(lp.TopLogprobs) < n {
		return nil, fmt.Errorf("score: %w: %d echoed positions for %d tokens", ErrMissingLogprobs, len(lp.Tokens), n)
	}
	out := make([]inference.PositionScore, 0, n-req.From)
	for pos := req.From; pos < n; pos++ {
		if id, ok := api.ParseTokenID(lp.Tokens[pos]); !ok || id != req.Tokens[pos] {
			return nil, fmt.Errorf("score: %w: echoed token %d is %q, sent %d", ErrMalformed, pos, lp.Tokens[pos], req.Tokens[pos])
		}
		ps := inference.PositionScore{Pos: pos, Token: req.Tokens[pos], Logprob: lp.TokenLogprobs[pos], Gap: math.Inf(1)}
		for _, a := range lp.TopLogprobs[pos] {
			id, ok := api.ParseTokenID(a.Token)
			if !ok {
				return nil, fmt.Errorf("score: %w: alternative %q", ErrMissingTokenIDs, a.Token)
			}
			ps.Top = append(ps.Top, inference.TopLogprob{ID: id, Logprob: a.Logprob})
		}
		sortTop(ps.Top)
		if len(ps.Top) == 0 {
			return nil, fmt.Errorf("score: %w: no alternatives at position %d", ErrMissingLogprobs, pos)
		}
		ps.Argmax = ps.Top[0].ID
		if len(ps.Top) > 1 {
			ps.Gap = ps.Top[0].Logprob - ps.Top[1].Logprob
		}
		ps.Top = ps.Top[:min(len(ps.Top), req.TopK)]
		if req.TopK == 0 {
			ps.Top = nil
		}
		out = append(out, ps)
	}
	return out, nil
}
