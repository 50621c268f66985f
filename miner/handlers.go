package miner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/inference/openai"
)

// modelList is the /v1/models answer, encoded with its trailing newline.
// Nothing in it changes while the server lives, so it is encoded once.
func modelList(info inference.ModelInfo, started time.Time) ([]byte, error) {
	card := api.ModelCard{
		ID: info.ID, Object: api.ObjectModel, Created: started.Unix(), OwnedBy: "merit-miner",
		SHA256: info.SHA256, Format: info.Format, ContextLength: info.ContextLength, VocabSize: info.VocabSize,
	}
	b, err := json.Marshal(api.ModelList{Object: api.ObjectList, Data: []api.ModelCard{card}})
	return append(b, '\n'), err
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeBody(w, http.StatusOK, s.models)
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	s.generate(w, r, s.parseCompletion)
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	s.generate(w, r, s.parseChat)
}

// generation is one request being answered.
type generation struct {
	s       *Server
	p       *genParams
	id      string
	created int64
	start   time.Time
	first   time.Time // first token
	caller  string
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request, parse func([]byte) (*genParams, *apiError)) {
	start := time.Now()
	body, err := io.ReadAll(r.Body) // already read and bounded by the verifier
	if err != nil {
		writeError(w, badRequest("", "read body: %v", err))
		return
	}
	p, aerr := parse(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if aerr, ok := s.checkPrompt(ctx, p); !ok {
		if aerr != nil {
			writeError(w, aerr)
		}
		return
	}
	release, err := s.queue.acquire(ctx)
	if err != nil {
		if errors.Is(err, errQueueFull) {
			s.metrics.reject(ReasonQueueFull)
			writeError(w, &apiError{status: http.StatusServiceUnavailable, typ: "server_busy", code: string(ReasonQueueFull),
				msg: fmt.Sprintf("miner busy: %d generations running and %d waiting, the most it takes; retry later", s.cfg.Concurrency, s.cfg.QueueSize)})
			return
		}
		s.fail(ctx, w, err)
		return
	}
	defer release()
	caller, _ := transport.CallerFromContext(r.Context())
	g := &generation{s: s, p: p, id: newID(p.chat), created: start.Unix(), start: start, caller: caller}
	if p.stream {
		g.stream(ctx, w)
	} else {
		g.complete(ctx, w)
	}
}

// fail answers an engine or queue error that happened before any byte of
// the answer was written.
func (s *Server) fail(ctx context.Context, w http.ResponseWriter, err error) {
	if e := s.classify(ctx, err); e != nil {
		writeError(w, e)
	}
}

// classify maps an engine error to an answer; nil when the client is gone
// and nothing can be answered.
func (s *Server) classify(ctx context.Context, err error) *apiError {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.metrics.reject(ReasonTimeout)
		return &apiError{status: http.StatusGatewayTimeout, typ: "timeout", code: string(ReasonTimeout),
			msg: fmt.Sprintf("request exceeded this miner's timeout of %s (queue wait included)", s.cfg.RequestTimeout)}
	case ctx.Err() != nil:
		return nil // the caller went away
	case errors.Is(err, inference.ErrContextLength):
		return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded", msg: err.Error()}
	case errors.Is(err, inference.ErrInvalidRequest), errors.Is(err, inference.ErrUnsupported):
		return badRequest("", "%v", err)
	case errors.Is(err, openai.ErrUpstream), errors.Is(err, openai.ErrUnavailable), errors.Is(err, openai.ErrTimeout),
		errors.Is(err, openai.ErrMalformed), errors.Is(err, openai.ErrMissingLogprobs), errors.Is(err, openai.ErrMissingTokenIDs),
		errors.Is(err, openai.ErrResponseTooLarge):
		s.log.Warn("upstream model server failed", zap.Error(err))
		return &apiError{status: http.StatusBadGateway, typ: "upstream_error", code: "upstream_error", msg: err.Error()}
	}
	s.log.Error("generation failed", zap.Error(err))
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", code: "internal_error", msg: err.Error()}
}

func newID(chat bool) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	if chat {
		return "chatcmpl-" + hex.EncodeToString(b[:])
	}
	return "cmpl-" + hex.EncodeToString(b[:])
}

// done records a finished generation in the metrics and the log.
func (g *generation) done(res *inference.Result) {
	m := g.s.metrics
	n := len(res.Tokens)
	m.tokens.Add(float64(n))
	if n > 1 && !g.first.IsZero() {
		if d := time.Since(g.first).Seconds(); d > 0 {
			m.tokensPerSec.Set(float64(n-1) / d)
		}
	}
	g.s.log.Debug("completion", zap.String("caller", g.caller), zap.String("id", g.id), zap.Bool("stream", g.p.stream),
		zap.Int("prompt_tokens", len(res.PromptTokens)), zap.Int("tokens", n), zap.String("finish", string(res.FinishReason)),
		zap.Duration("took", time.Since(g.start)))
}

func (g *generation) onToken() {
	if g.first.IsZero() {
		g.first = time.Now()
		g.s.metrics.ttft.Observe(g.first.Sub(g.start).Seconds())
	}
}

func usageOf(res *inference.Result) *api.Usage {
	return &api.Usage{PromptTokens: len(res.PromptTokens), CompletionTokens: len(res.Tokens), TotalTokens: len(res.PromptTokens) + len(res.Tokens)}
}

// completionLogprobs carries both shapes: the legacy one OpenAI clients
// read, and the content entries with token ids and exact bytes that a
// validator verifies (legacy top_logprobs are keyed by text, which cannot
// tell two tokens with the same text apart).
func completionLogprobs(tokens []inference.Token, offset, top int) *api.CompletionLogprobs {
	lp := api.CompletionLogprobsOf(tokens, offset)
	if top == 0 {
		lp.TopLogprobs = nil
	}
	lp.Content = api.ChatLogprobsOf(tokens).Content
	return lp
}

// complete answers in one JSON document.
func (g *generation) complete(ctx context.Context, w http.ResponseWriter) {
	s := g.s
	res, err := s.engine.Generate(ctx, g.p.req, func(inference.Token) error { g.onToken(); return nil })
	if err != nil {
		s.fail(ctx, w, err)
		return
	}
	g.done(res)
	ids := api.TokenIDs(res.Tokens)
	prompt := res.PromptTokens
	if g.p.chat {
		writeJSON(w, http.StatusOK, api.ChatCompletionResponse{
			ID: g.id, Object: api.ObjectChatCompletion, Created: g.created, Model: s.info.ID,
			Choices: []api.ChatChoice{{
				Message:  api.ChatMessage{Role: "assistant", Content: api.MessageContent(res.Text)},
				Logprobs: api.ChatLogprobsOf(res.Tokens), FinishReason: api.FinishReason(res.FinishReason),
				PromptTokenIDs: prompt, TokenIDs: ids,
			}},
			Usage: usageOf(res),
		})
		return
	}
	writeJSON(w, http.StatusOK, api.CompletionResponse{
		ID: g.id, Object: api.ObjectTextCompletion, Created: g.created, Model: s.info.ID,
		Choices: []api.CompletionChoice{{
			Text: res.Text, Logprobs: completionLogprobs(res.Tokens, 0, g.p.req.TopLogprobs),
			FinishReason: api.FinishReason(res.FinishReason), PromptTokenIDs: prompt, TokenIDs: ids,
		}},
		Usage: usageOf(res),
	})
}
