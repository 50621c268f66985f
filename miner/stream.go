package miner

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// stream answers with server-sent events, one event per token, in OpenAI's
// chunk shapes plus token ids and logprobs. The transport signs the
// headers at once and appends a signed trailer after the last event.
//
// Headers go out with the first token, not before: an error found before
// any token (a bad prompt, a timeout in the queue) still gets a proper
// status code instead of a 200 stream carrying an error.
func (g *generation) stream(ctx context.Context, rw http.ResponseWriter) {
	s := g.s
	w := newEventWriter(rw, s.cfg.StreamWriteTimeout)
	started, promptSent := false, false
	offset := 0
	begin := func(promptIDs []int) error {
		if started {
			return nil
		}
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		w.WriteHeader(http.StatusOK)
		if !g.p.chat {
			return nil
		}
		promptSent = len(promptIDs) > 0
		return api.WriteEvent(w, g.chatChunk(api.ChatChunkChoice{
			Delta: api.ChatDelta{Role: "assistant"}, PromptTokenIDs: promptIDs,
		}))
	}
	var prompt []int
	emit := func(t inference.Token) error {
		g.onToken()
		if err := begin(prompt); err != nil {
			return err
		}
		toks := []inference.Token{t}
		if g.p.chat {
			return api.WriteEvent(w, g.chatChunk(api.ChatChunkChoice{
				Delta: api.ChatDelta{Content: t.Text}, Logprobs: api.ChatLogprobsOf(toks), TokenIDs: []int{t.ID},
			}))
		}
		c := api.CompletionChoice{Text: t.Text, Logprobs: completionLogprobs(toks, offset, g.p.req.TopLogprobs), TokenIDs: []int{t.ID}}
		offset += len(t.Piece)
		if !promptSent && len(prompt) > 0 {
			c.PromptTokenIDs, promptSent = prompt, true
		}
		return api.WriteEvent(w, g.completionChunk(c))
	}
	// The prompt's ids belong in the first event, but the engine reports
	// them only at the end; when the engine could tell them up front,
	// checkPrompt already put them in the request.
	if _, ok := s.engine.(promptTokener); ok {
		prompt = g.p.req.PromptTokens
	}
	res, err := s.engine.Generate(ctx, g.p.req, emit)
	if err != nil {
		if !started {
			s.fail(ctx, w, err)
			return
		}
		if w.err != nil { // nobody left to tell
			s.log.Debug("stream not delivered: the client left or stopped reading", zap.String("id", g.id), zap.Error(w.err))
			return
		}
		// The status is gone; report in-band as OpenAI does, and the stream
		// ends without [DONE] so no client takes it for a whole answer.
		if e := s.classify(ctx, err); e != nil {
			_ = api.WriteEvent(w, e.body())
		}
		return
	}
	if err := begin(res.PromptTokens); err != nil {
		return
	}
	final := api.FinishReason(res.FinishReason)
	if g.p.chat {
		c := api.ChatChunkChoice{FinishReason: final}
		if !promptSent {
			c.PromptTokenIDs = res.PromptTokens
		}
		if api.WriteEvent(w, g.chatChunk(c)) != nil {
			return
		}
	} else {
		c := api.CompletionChoice{FinishReason: final}
		if !promptSent {
			c.PromptTokenIDs = res.PromptTokens
		}
		if api.WriteEvent(w, g.completionChunk(c)) != nil {
			return
		}
	}
	if g.p.includeUsage {
		var err error
		if g.p.chat {
			err = api.WriteEvent(w, api.ChatCompletionChunk{ID: g.id, Object: api.ObjectChatChunk, Created: g.created, Model: s.info.ID, Choices: []api.ChatChunkChoice{}, Usage: usageOf(res)})
		} else {
			err = api.WriteEvent(w, api.CompletionResponse{ID: g.id, Object: api.ObjectTextCompletion, Created: g.created, Model: s.info.ID, Choices: []api.CompletionChoice{}, Usage: usageOf(res)})
		}
		if err != nil {
			return
		}
	}
	if api.WriteDone(w) == nil {
		g.done(res)
	}
}

func (g *generation) chatChunk(c api.ChatChunkChoice) api.ChatCompletionChunk {
	return api.ChatCompletionChunk{ID: g.id, Object: api.ObjectChatChunk, Created: g.created, Model: g.s.info.ID, Choices: []api.ChatChunkChoice{c}}
}

func (g *generation) completionChunk(c api.CompletionChoice) api.CompletionResponse {
	return api.CompletionResponse{ID: g.id, Object: api.ObjectTextCompletion, Created: g.created, Model: g.s.info.ID, Choices: []api.CompletionChoice{c}}
}
