package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// Generate implements inference.Engine. Messages go to /v1/chat/completions
// (the upstream applies its chat template), prompts to /v1/completions (as
// token ids when given). Every token must come back with a logprob and an id.
func (b *Backend) Generate(callerCtx context.Context, req inference.GenerateRequest, emit func(inference.Token) error) (*inference.Result, error) {
	st, err := b.ready(callerCtx)
	if err != nil {
		return nil, err
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > inference.MaxTopLogprobs {
		return nil, fmt.Errorf("%w: top logprobs %d must be in [0, %d]", inference.ErrInvalidRequest, req.TopLogprobs, inference.MaxTopLogprobs)
	}
	chat := len(req.Messages) > 0
	path, body := "/v1/completions", b.completionBody(st, req)
	if chat {
		path, body = "/v1/chat/completions", b.chatBody(st, req)
	}
	ctx, cancel := context.WithTimeout(callerCtx, b.cfg.Timeout)
	defer cancel()
	resp, err := b.send(ctx, http.MethodPost, path, body, !b.cfg.NoStream)
	if err != nil {
		return nil, transportError(ctx, callerCtx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := b.readAll(resp.Body)
		return nil, statusError(resp.StatusCode, raw)
	}
	g := &gather{req: req, emit: emit, res: &inference.Result{PromptTokens: req.PromptTokens}}
	if b.cfg.NoStream {
		raw, err := b.readAll(resp.Body)
		if err != nil {
			return nil, transportError(ctx, callerCtx, err)
		}
		err = g.chunk(raw, chat)
		if err == nil {
			err = g.finish()
		}
		if err != nil {
			return nil, err
		}
		return g.res, nil
	}
	events := api.NewEventReader(&limitedReader{r: resp.Body, n: b.cfg.MaxResponseBytes}, int(min(b.cfg.MaxResponseBytes, 1<<24)))
	for {
		ev, err := events.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: stream ended without data: [DONE]", ErrMalformed)
		}
		if err != nil {
			if errors.Is(err, api.ErrEventTooLarge) || errors.Is(err, ErrResponseTooLarge) {
				return nil, fmt.Errorf("%w: %v", ErrResponseTooLarge, err)
			}
			return nil, transportError(ctx, callerCtx, err)
		}
		if ev.Name == "error" {
			return nil, streamError(ev.Data)
		}
		if ev.Done() {
			break
		}
		if err := g.chunk(ev.Data, chat); err != nil {
			return nil, err
		}
	}
	if err := g.finish(); err != nil {
		return nil, err
	}
	return g.res, nil
}

func (b *Backend) completionBody(st upstream, req inference.GenerateRequest) map[string]any {
	m := b.commonBody(st, req)
	if req.PromptTokens != nil {
		m["prompt"] = req.PromptTokens
	} else {
		m["prompt"] = req.Prompt
	}
	m["logprobs"] = req.TopLogprobs
	return m
}

func (b *Backend) chatBody(st upstream, req inference.GenerateRequest) map[string]any {
	m := b.commonBody(st, req)
	msgs := make([]api.ChatMessage, len(req.Messages))
	for i, msg := range req.Messages {
		msgs[i] = api.ChatMessage{Role: msg.Role, Content: api.MessageContent(msg.Content)}
	}
	m["messages"] = msgs
	m["logprobs"] = true
	m["top_logprobs"] = req.TopLogprobs
	if st.dialect == DialectLlamaCpp {
		// llama.cpp returns nothing at all for top_logprobs 0.
		m["top_logprobs"] = max(req.TopLogprobs, 1)
	}
	return m
}

func (b *Backend) commonBody(st upstream, req inference.GenerateRequest) map[string]any {
	m := map[string]any{"model": st.model, "temperature": req.Temperature, "stream": !b.cfg.NoStream}
	if req.MaxTokens > 0 {
		m["max_tokens"] = req.MaxTokens
	}
	if req.TopP > 0 {
		m["top_p"] = req.TopP
	}
	if req.Seed != 0 {
		m["seed"] = req.Seed
	}
	if len(req.Stop) > 0 {
		m["stop"] = req.Stop
	}
	if !b.cfg.NoStream {
		m["stream_options"] = map[string]bool{"include_usage": true}
	}
	switch st.dialect {
	case DialectVLLM:
		m["return_tokens_as_token_ids"] = true
		m["return_token_ids"] = true
	case DialectLlamaCpp:
		m["n_probs"] = max(req.TopLogprobs, 1)
	}
	return m
}

// gather assembles a result from one response or many chunks.
type gather struct {
	req     inference.GenerateRequest
	emit    func(inference.Token) error
	res     *inference.Result
	text    strings.Builder
	pending string // text that arrived without a token; goes to the next one
	finish_ string
	done    bool
}

func (g *gather) chunk(raw []byte, chat bool) error {
	var c api.ResponseChunk
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%w: %v (data %q)", ErrMalformed, err, head(raw))
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		return streamError(raw)
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		if g.done {
			return fmt.Errorf("%w: data after the finish reason", ErrMalformed)
		}
		var text string
		switch {
		case ch.Text != nil:
			text = *ch.Text
		case ch.Message != nil:
			text = ch.Message.Content
		case ch.Delta != nil:
			text = ch.Delta.Content
		case !chat:
			return fmt.Errorf("%w: choice without text", ErrMalformed)
		}
		if ch.PromptIDs != nil && g.res.PromptTokens == nil {
			g.res.PromptTokens = ch.PromptIDs
		}
		toks, err := entries(ch.Logprobs, ch.TokenIDs, g.req.TopLogprobs)
		if err != nil {
			return err
		}
		if len(toks) == 0 && text != "" && ch.Logprobs == nil && ch.TokenIDs == nil {
			return fmt.Errorf("%w: text %q came without logprobs", ErrMissingLogprobs, head([]byte(text)))
		}
		if err := g.tokens(toks, text); err != nil {
			return err
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			g.finish_ = *ch.FinishReason
			g.done = true
		}
	}
	return nil
}

// tokens hands out the tokens of one chunk. Their visible text is the
// chunk's text: each token gets its own piece when the pieces add up to the
// chunk text, otherwise the last token carries it all (vLLM's token-id mode
// hides the pieces).
func (g *gather) tokens(toks []inference.Token, text string) error {
	g.text.WriteString(text)
	if len(toks) == 0 {
		g.pending += text
		return nil
	}
	text = g.pending + text
	g.pending = ""
	var pieces strings.Builder
	for _, t := range toks {
		pieces.WriteString(t.Piece)
	}
	byPiece := pieces.String() == text
	for i := range toks {
		switch {
		case byPiece:
			toks[i].Text = toks[i].Piece
		case i == len(toks)-1:
			toks[i].Text = text
		}
		g.res.Tokens = append(g.res.Tokens, toks[i])
		if g.emit != nil {
			if err := g.emit(toks[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *gather) finish() error {
	if !g.done {
		return fmt.Errorf("%w: no finish_reason", ErrMalformed)
	}
	g.res.Text = g.text.String()
	g.res.FinishReason = inference.FinishReason(g.finish_)
	return nil
}

// entries turns a choice's logprobs (legacy or content shape) and optional
// token_ids into tokens with ids, logprobs and at most k alternatives.
func entries(lp *api.CompletionLogprobs, ids []int, k int) ([]inference.Token, error) {
	var toks []inference.Token
	if lp != nil && len(lp.Content) > 0 {
		for _, e := range lp.Content {
			t := inference.Token{Logprob: e.Logprob}
			var ok bool
			t.ID, t.Piece, ok = api.ResolveEntry(e.ID, e.Token, e.Bytes)
			if !ok && ids == nil {
				return nil, fmt.Errorf("%w: logprob entry %q has no id", ErrMissingTokenIDs, e.Token)
			}
			for _, a := range e.TopLogprobs {
				id, piece, ok := api.ResolveEntry(a.ID, a.Token, a.Bytes)
				if !ok {
					return nil, fmt.Errorf("%w: alternative %q has no id", ErrMissingTokenIDs, a.Token)
				}
				t.Top = append(t.Top, inference.TopLogprob{ID: id, Text: piece, Logprob: a.Logprob})
			}
			toks = append(toks, t)
		}
	} else if lp != nil && len(lp.Tokens) > 0 {
		if len(lp.TokenLogprobs) != len(lp.Tokens) {
			return nil, fmt.Errorf("%w: %d tokens but %d token_logprobs", ErrMalformed, len(lp.Tokens), len(lp.TokenLogprobs))
		}
		for i, s := range lp.Tokens {
			t := inference.Token{Logprob: lp.TokenLogprobs[i]}
			id, ok := api.ParseTokenID(s)
			if !ok && ids == nil {
				return nil, fmt.Errorf("%w: token %q is not \"token_id:N\"", ErrMissingTokenIDs, s)
			}
			if ok {
				t.ID = id
			} else {
				t.Piece = s
			}
			if i < len(lp.TopLogprobs) {
				for _, a := range lp.TopLogprobs[i] {
					aid, ok := api.ParseTokenID(a.Token)
					if !ok {
						return nil, fmt.Errorf("%w: alternative %q is not \"token_id:N\"", ErrMissingTokenIDs, a.Token)
					}
					t.Top = append(t.Top, inference.TopLogprob{ID: aid, Logprob: a.Logprob})
				}
			}
			toks = append(toks, t)
		}
	}
	if ids != nil {
		switch {
		case toks == nil && len(ids) > 0:
			return nil, fmt.Errorf("%w: %d token ids without logprobs", ErrMissingLogprobs, len(ids))
		case len(ids) != len(toks):
			return nil, fmt.Errorf("%w: %d token ids but %d logprob entries", ErrMalformed, len(ids), len(toks))
		}
		for i, id := range ids {
			toks[i].ID = id
		}
	}
	for i := range toks {
		top := toks[i].Top
		sortTop(top)
		toks[i].Top = top[:min(len(top), k)]
		if len(toks[i].Top) == 0 {
			toks[i].Top = nil
		}
	}
	return toks, nil
}

// sortTop orders alternatives best first, lowest id on ties: vLLM sends the
// chosen token on top of the k best, and a legacy object has no order.
func sortTop(top []inference.TopLogprob) {
	sort.SliceStable(top, func(a, b int) bool {
		if top[a].Logprob != top[b].Logprob {
			return top[a].Logprob > top[b].Logprob
		}
		return top[a].ID < top[b].ID
	})
}

// streamError turns an error object inside a stream into an error.
func streamError(raw []byte) error {
	eb := api.DecodeError(raw)
	status := 500
	var code int
	if json.Unmarshal(eb.Code, &code) == nil && code >= 400 {
		status = code
	}
	return &StatusError{Status: status, Type: eb.Type, Message: eb.Message}
}
