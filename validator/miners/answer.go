package miners

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// ErrMalformed marks answers that cannot be read as a completion at all.
var ErrMalformed = errors.New("malformed answer")

// MaxEventBytes bounds one SSE event of a miner's stream.
const MaxEventBytes = 1 << 20

// entry is one token as the logprobs told it.
type entry struct {
	id      int
	hasID   bool
	piece   string
	logprob float64
	top     []inference.TopLogprob
	topOK   bool // every alternative carried an id
}

// Answer assembles a miner's completion from one response or many chunks.
// Ids are decided at the end: token_ids (Merit, vLLM) when they match the
// logprob entries one to one, otherwise the entries' own ids, so the miner
// may send ids per chunk or all at once.
type Answer struct {
	text    strings.Builder
	entries []entry
	ids     []int
	prompt  []int
	finish  string
	done    bool
}

// Add reads one JSON object (a response or a stream chunk). It reports
// whether the chunk carried completion content (for time to first token).
func (a *Answer) Add(raw []byte) (content bool, err error) {
	var c api.ResponseChunk
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		return false, fmt.Errorf("%w: error in answer: %s", ErrMalformed, api.DecodeError(raw).Message)
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		if a.done && (ch.Text != nil && *ch.Text != "" || ch.Delta != nil && ch.Delta.Content != "") {
			return false, fmt.Errorf("%w: content after the finish reason", ErrMalformed)
		}
		switch {
		case ch.Text != nil:
			a.text.WriteString(*ch.Text)
			content = content || *ch.Text != ""
		case ch.Message != nil:
			a.text.WriteString(ch.Message.Content)
			content = content || ch.Message.Content != ""
		case ch.Delta != nil:
			a.text.WriteString(ch.Delta.Content)
			content = content || ch.Delta.Content != ""
		}
		if ch.PromptIDs != nil && a.prompt == nil {
			a.prompt = append([]int(nil), ch.PromptIDs...)
		}
		a.ids = append(a.ids, ch.TokenIDs...)
		n := a.addLogprobs(ch.Logprobs)
		content = content || n > 0 || len(ch.TokenIDs) > 0
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.finish = *ch.FinishReason
			a.done = true
		}
	}
	return content, nil
}

// Done reports whether the answer carried its finish reason.
func (a *Answer) Done() bool { return a.done }

// Tokens are the prompt and completion tokens the answer carries so far.
func (a *Answer) Tokens() (prompt, completion uint64) {
	completion = uint64(len(a.ids))
	if completion == 0 {
		completion = uint64(len(a.entries))
	}
	return uint64(len(a.prompt)), completion
}

func (a *Answer) addLogprobs(lp *api.CompletionLogprobs) int {
	if lp == nil {
		return 0
	}
	if len(lp.Content) > 0 {
		for _, e := range lp.Content {
			en := entry{logprob: e.Logprob, topOK: true}
			// The piece matters only without an id, to name the entry.
			en.id, en.piece, en.hasID = api.ResolveEntry(e.ID, e.Token, e.Bytes)
			for _, t := range e.TopLogprobs {
				id, _, ok := api.ResolveEntry(t.ID, t.Token, nil)
				if !ok {
					en.topOK = false
					continue
				}
				en.top = append(en.top, inference.TopLogprob{ID: id, Text: t.Token, Logprob: t.Logprob})
			}
			a.entries = append(a.entries, en)
		}
		return len(lp.Content)
	}
	for i, tok := range lp.Tokens {
		en := entry{piece: tok}
		if i < len(lp.TokenLogprobs) {
			en.logprob = lp.TokenLogprobs[i]
		}
		if n, ok := api.ParseTokenID(tok); ok {
			en.id, en.hasID = n, true
		}
		// Legacy alternatives are keyed by text, not id: they cannot be
		// checked against the reference, so they are left out of the claim.
		a.entries = append(a.entries, en)
	}
	return len(lp.Tokens)
}

// Parts finishes the answer as the answer's half of a claim. It fails only
// when the answer is unreadable (no finish reason, token ids that cannot be
// paired with logprobs); anything the verifier can judge (missing logprobs,
// wrong tokens) is left to the verifier, which reports it with its own
// reason.
func (a *Answer) Parts(withTop bool) (*inference.Claim, error) {
	if !a.done {
		return nil, fmt.Errorf("%w: no finish_reason", ErrMalformed)
	}
	p := &inference.Claim{PromptTokens: a.prompt, Text: a.text.String(), FinishReason: inference.FinishReason(a.finish)}
	switch {
	case len(a.ids) > 0 && len(a.entries) == 0:
		p.Tokens = a.ids // no logprobs: the verifier says missing_logprobs
	case len(a.ids) > 0 && len(a.ids) != len(a.entries):
		return nil, fmt.Errorf("%w: %d token_ids but %d logprob entries", ErrMalformed, len(a.ids), len(a.entries))
	case len(a.ids) > 0:
		p.Tokens = a.ids
	default:
		p.Tokens = make([]int, len(a.entries))
		for i, e := range a.entries {
			if !e.hasID {
				return nil, fmt.Errorf("%w: token %d (%q) has no id and there are no token_ids", ErrMalformed, i, e.piece)
			}
			p.Tokens[i] = e.id
		}
	}
	if len(a.entries) > 0 {
		p.Logprobs = make([]float64, len(a.entries))
		allTop := withTop
		for i, e := range a.entries {
			p.Logprobs[i] = e.logprob
			allTop = allTop && e.topOK && len(e.top) > 0
		}
		if allTop {
			p.TopLogprobs = make([][]inference.TopLogprob, len(a.entries))
			for i, e := range a.entries {
				p.TopLogprobs[i] = e.top
			}
		}
	}
	if p.Tokens == nil {
		p.Tokens = []int{}
	}
	return p, nil
}
