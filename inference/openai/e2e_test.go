package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// vllmLike serves merit-tiny the way vLLM answers /v1/completions with
// return_tokens_as_token_ids: an upstream whose numbers we can check.
func vllmLike(t *testing.T, e *inference.LocalEngine) *httptest.Server {
	tok := func(id int) string { return fmt.Sprintf("token_id:%d", id) }
	h := http.NewServeMux()
	h.HandleFunc("/v1/completions", func(w http.ResponseWriter, r *http.Request) {
		var req api.CompletionRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		k := 0
		if req.Logprobs != nil {
			k = *req.Logprobs
		}
		choice := api.CompletionChoice{Logprobs: &api.CompletionLogprobs{}}
		lp := choice.Logprobs
		add := func(id int, logprob float64, top []inference.TopLogprob) {
			lp.Tokens = append(lp.Tokens, tok(id))
			lp.TokenLogprobs = append(lp.TokenLogprobs, logprob)
			m := api.TopLogprobMap{}
			for _, a := range top {
				m = append(m, api.TokenLogprob{Token: tok(a.ID), Logprob: a.Logprob})
			}
			lp.TopLogprobs = append(lp.TopLogprobs, m)
		}
		if req.Echo {
			sc, err := e.Score(r.Context(), inference.ScoreRequest{Tokens: req.Prompt.Tokens, From: 1, TopK: k})
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			add(req.Prompt.Tokens[0], 0, nil)
			for _, s := range sc {
				add(s.Token, s.Logprob, s.Top)
			}
			choice.FinishReason = "length"
		} else {
			greq := inference.GenerateRequest{PromptTokens: req.Prompt.Tokens, TopLogprobs: k, Temperature: *req.Temperature}
			if req.MaxTokens != nil {
				greq.MaxTokens = *req.MaxTokens
			}
			res, err := e.Generate(r.Context(), greq, nil)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			for _, t := range res.Tokens {
				add(t.ID, t.Logprob, t.Top)
			}
			choice.Text, choice.FinishReason = res.Text, api.FinishReason(res.FinishReason)
			choice.TokenIDs, choice.PromptTokenIDs = res.TokenIDs(), res.PromptTokens
		}
		json.NewEncoder(w).Encode(api.CompletionResponse{ID: "cmpl-1", Object: api.ObjectTextCompletion, Model: "merit-tiny", Choices: []api.CompletionChoice{choice}})
	})
	h.HandleFunc("/detokenize", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Tokens []int }
		json.NewDecoder(r.Body).Decode(&req)
		text, err := e.Detokenize(r.Context(), req.Tokens, -1)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"prompt": text})
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestProxiedCompletionVerifies: a completion that travelled through the
// upstream backend (JSON and all) verifies against the builtin engine, and
// the upstream's Score equals the local one.
func TestProxiedCompletionVerifies(t *testing.T) {
	local, err := inference.TinyEngine(inference.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := vllmLike(t, local)
	b, err := New(Config{BaseURL: srv.URL, Dialect: DialectVLLM, Model: "merit-tiny", NoStream: true, ContextLength: 512, VocabSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prompt := local.Tokenizer().Encode("Once upon a time", true, false)
	req := inference.GenerateRequest{PromptTokens: prompt, MaxTokens: 48, TopLogprobs: 3}
	res, err := b.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	claim := inference.ClaimOf(req, res)
	v, err := inference.NewVerifier(local, inference.VerifyOptions{}).Verify(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.MaxLogprobError != 0 {
		t.Fatalf("proxied completion: %+v", v)
	}
	seq := append(append([]int(nil), res.PromptTokens...), res.TokenIDs()...)
	remote, err := b.Score(ctx, inference.ScoreRequest{Tokens: seq, From: len(prompt), TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := local.Score(ctx, inference.ScoreRequest{Tokens: seq, From: len(prompt), TopK: 3})
	for i := range mine {
		if remote[i].Logprob != mine[i].Logprob || remote[i].Argmax != mine[i].Argmax || remote[i].Gap != mine[i].Gap {
			t.Fatalf("position %d: upstream %+v, local %+v", i, remote[i], mine[i])
		}
	}
	// The verifier also runs with the upstream as reference.
	v, err = inference.NewVerifier(b, inference.VerifyOptions{}).Verify(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("upstream reference: %+v", v)
	}
}
