package miner

import (
	"context"
	"fmt"
	"net/http"

	"github.com/meritnet/merit/inference"
)

// upstreamBytesPerToken bounds the bytes of one token for engines whose
// tokenizer the miner cannot see (an upstream server): generous, since a
// prompt refused here could have fit, while one let through only costs the
// upstream a tokenization.
const upstreamBytesPerToken = 64

// unwrapper is an engine wrapping another (faults, test spies).
type unwrapper interface{ Unwrap() inference.Engine }

// localEngineOf is the builtin engine behind e, nil for an upstream.
func localEngineOf(e inference.Engine) *inference.LocalEngine {
	for e != nil {
		switch v := e.(type) {
		case *inference.LocalEngine:
			return v
		case interface{ Engine() *inference.LocalEngine }: // the Batcher
			return v.Engine()
		case unwrapper:
			e = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// promptByteLimit is the longest prompt, in bytes, that could fit the
// model's context: every token covers at most the bytes of the longest
// piece in the vocabulary, so a longer prompt is refused without
// tokenizing it (tokenizing costs time in the prompt's length, paid by the
// miner for a request that must fail anyway).
func promptByteLimit(e inference.Engine, info inference.ModelInfo) int {
	if info.ContextLength <= 0 {
		return 0
	}
	per := upstreamBytesPerToken
	if le := localEngineOf(e); le != nil {
		tok := le.Tokenizer()
		per = 1
		for id := range tok.VocabSize() {
			per = max(per, len(tok.Vocab(id)))
		}
	}
	return info.ContextLength * per
}

// promptBytes is the length of the text the model would be given.
func promptBytes(req *inference.GenerateRequest) int {
	if len(req.Messages) == 0 {
		return len(req.Prompt)
	}
	n := len("assistant:")
	for _, m := range req.Messages {
		n += len(m.Role) + len(": ") + len(m.Content) + 1
	}
	return n
}

func contextLengthError(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded", param: param, msg: fmt.Sprintf(format, a...)}
}

// checkPrompt refuses prompts that cannot fit, by their size alone, and
// resolves the prompt to token ids when the engine can tell them, so that
// tokenizing happens before a generation slot is taken (the engine then
// reuses the ids; a request's ids take precedence over its text and
// resolve to the same prompt). It runs before admission: none of it may
// hold a slot an honest request is waiting for.
// ok is false when the request ends here, with the error to answer (nil
// when the caller is gone).
func (s *Server) checkPrompt(ctx context.Context, p *genParams) (aerr *apiError, ok bool) {
	req := &p.req
	param := "prompt"
	if p.chat {
		param = "messages"
	}
	if n, limit := promptBytes(req), s.promptLimit; limit > 0 && n > limit {
		return contextLengthError(param, "prompt of %d bytes cannot fit this model's context of %d tokens (this miner takes at most %d bytes)",
			n, s.info.ContextLength, limit), false
	}
	if n := len(req.PromptTokens); s.info.ContextLength > 0 && n >= s.info.ContextLength {
		return contextLengthError(param, "prompt of %d tokens leaves no room in a context of %d", n, s.info.ContextLength), false
	}
	pt, can := s.engine.(promptTokener)
	if !can {
		return nil, true
	}
	ids, err := pt.PromptTokens(*req)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return s.classify(ctx, err), false
	}
	req.PromptTokens = ids
	return nil, true
}
