package miner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// Bounds on what a request may ask for, beyond the engine's own checks:
// stop strings are matched after every token, so their number and length
// cost time on every step.
const (
	maxStopStrings = 16
	maxStopLen     = 256
)

// apiError is an OpenAI-style error answer.
type apiError struct {
	status int
	typ    string
	code   string
	param  string
	msg    string
}

func badRequest(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "invalid_request", param: param, msg: fmt.Sprintf(format, a...)}
}

// body is the OpenAI envelope, as an answer or as an in-band stream event.
func (e *apiError) body() api.ErrorResponse {
	body := api.ErrorResponse{Error: api.ErrorBody{Message: e.msg, Type: e.typ}}
	if e.param != "" {
		p := e.param
		body.Error.Param = &p
	}
	if e.code != "" {
		body.Error.Code, _ = json.Marshal(e.code)
	}
	return body
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e.body()) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only non-finite floats could do this, and logprobs are clamped
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encode response","type":"server_error"}}`)
	}
	writeBody(w, status, append(b, '\n'))
}

// writeBody writes an encoded JSON document, newline included.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// genParams is a parsed completion or chat request.
type genParams struct {
	req          inference.GenerateRequest
	chat         bool
	stream       bool
	includeUsage bool
}

// sampling holds the fields both request kinds share.
type sampling struct {
	model       string
	maxTokens   *int
	maxParam    string // the field maxTokens came from
	temperature *float64
	topP        *float64
	n           *int
	seed        *uint64
	stop        api.StopList
	top         int
}

func decodeJSON(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "empty body; send a JSON request")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("", "request is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// parseCompletion reads a /v1/completions request.
func (s *Server) parseCompletion(body []byte) (*genParams, *apiError) {
	var r api.CompletionRequest
	if e := decodeJSON(body, &r); e != nil {
		return nil, e
	}
	if r.Echo {
		return nil, badRequest("echo", "echo is not supported: prompt tokens come back as prompt_token_ids")
	}
	top := 0
	switch {
	case r.Logprobs != nil:
		top = *r.Logprobs
	case r.NProbs != nil:
		top = *r.NProbs
	}
	p := &genParams{stream: r.Stream, includeUsage: r.StreamOptions != nil && r.StreamOptions.IncludeUsage}
	p.req.Prompt, p.req.PromptTokens = r.Prompt.Text, r.Prompt.Tokens
	err := s.applySampling(p, sampling{model: r.Model, maxTokens: r.MaxTokens, temperature: r.Temperature, topP: r.TopP, n: r.N, seed: r.Seed, stop: r.Stop, top: top}, "logprobs")
	return p, err
}

// parseChat reads a /v1/chat/completions request.
func (s *Server) parseChat(body []byte) (*genParams, *apiError) {
	var r api.ChatCompletionRequest
	if e := decodeJSON(body, &r); e != nil {
		return nil, e
	}
	if len(r.Messages) == 0 {
		return nil, badRequest("messages", "messages must hold at least one message")
	}
	top := 0
	switch {
	case r.TopLogprobs != nil:
		top = *r.TopLogprobs
	case r.NProbs != nil:
		top = *r.NProbs
	}
	p := &genParams{chat: true, stream: r.Stream, includeUsage: r.StreamOptions != nil && r.StreamOptions.IncludeUsage}
	for i, m := range r.Messages {
		if m.Role == "" {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "message %d has no role", i)
		}
		p.req.Messages = append(p.req.Messages, inference.Message{Role: m.Role, Content: string(m.Content)})
	}
	maxParam := "max_tokens"
	if r.MaxCompletionTokens != nil {
		maxParam = "max_completion_tokens"
	}
	err := s.applySampling(p, sampling{model: r.Model, maxTokens: r.CompletionMaxTokens(), maxParam: maxParam, temperature: r.Temperature, topP: r.TopP, n: r.N, seed: r.Seed, stop: r.Stop, top: top}, "top_logprobs")
	return p, err
}

func (s *Server) applySampling(p *genParams, in sampling, topParam string) *apiError {
	if in.model != "" && in.model != s.info.ID && in.model != s.info.Name {
		return &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "model_not_found", param: "model",
			msg: fmt.Sprintf("model %q is not served here; this miner serves %s", in.model, s.info.ID)}
	}
	if in.n != nil && *in.n != 1 {
		return badRequest("n", "n=%d is not supported; ask for one completion per request", *in.n)
	}
	limit := s.maxTokens()
	p.req.MaxTokens = limit
	if in.maxTokens != nil {
		mt, param := *in.maxTokens, in.maxParam
		if param == "" {
			param = "max_tokens"
		}
		switch {
		case mt < 1:
			return badRequest(param, "%s must be at least 1, got %d", param, mt)
		case limit > 0 && mt > limit:
			return badRequest(param, "%s %d exceeds this subnet's limit of %d", param, mt, limit)
		}
		p.req.MaxTokens = mt
	}
	p.req.Temperature = 1 // OpenAI's default
	if in.temperature != nil {
		p.req.Temperature = *in.temperature
	}
	if in.topP != nil {
		p.req.TopP = *in.topP
	}
	if in.seed != nil {
		p.req.Seed = *in.seed
	}
	if in.top < 0 || in.top > inference.MaxTopLogprobs {
		return badRequest(topParam, "%s must be in [0, %d], got %d", topParam, inference.MaxTopLogprobs, in.top)
	}
	p.req.TopLogprobs = in.top
	if len(in.stop) > maxStopStrings {
		return badRequest("stop", "at most %d stop strings, got %d", maxStopStrings, len(in.stop))
	}
	for _, st := range in.stop {
		if st == "" || len(st) > maxStopLen {
			return badRequest("stop", "stop strings must be 1-%d bytes", maxStopLen)
		}
	}
	p.req.Stop = in.stop
	switch {
	case p.req.Temperature < 0 || p.req.Temperature != p.req.Temperature:
		return badRequest("temperature", "temperature must be >= 0 (0 is greedy)")
	case p.req.TopP < 0 || p.req.TopP > 1 || p.req.TopP != p.req.TopP:
		return badRequest("top_p", "top_p must be in [0, 1]")
	}
	return nil
}
