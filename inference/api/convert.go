package api

import (
	"math"

	"github.com/meritnet/merit/inference"
)

// minLogprob replaces -Inf (which JSON cannot carry), as vLLM does.
const minLogprob = -9999.0

func clampLogprob(x float64) float64 {
	if math.IsNaN(x) || x < minLogprob {
		return minLogprob
	}
	return x
}

// CompletionLogprobsOf builds the legacy logprobs of generated tokens;
// offset is the text offset of the first token.
func CompletionLogprobsOf(tokens []inference.Token, offset int) *CompletionLogprobs {
	lp := &CompletionLogprobs{
		Tokens:        make([]string, len(tokens)),
		TokenLogprobs: make([]float64, len(tokens)),
		TopLogprobs:   make([]TopLogprobMap, len(tokens)),
		TextOffset:    make([]int, len(tokens)),
	}
	for i, t := range tokens {
		lp.Tokens[i] = t.Piece
		lp.TokenLogprobs[i] = clampLogprob(t.Logprob)
		top := make(TopLogprobMap, len(t.Top))
		for j, a := range t.Top {
			top[j] = TokenLogprob{Token: a.Text, Logprob: clampLogprob(a.Logprob)}
		}
		lp.TopLogprobs[i] = top
		lp.TextOffset[i] = offset
		offset += len(t.Piece)
	}
	return lp
}

// ChatLogprobsOf builds the chat logprobs of generated tokens, with ids.
func ChatLogprobsOf(tokens []inference.Token) *ChatLogprobs {
	lp := &ChatLogprobs{Content: make([]ChatLogprob, len(tokens))}
	for i, t := range tokens {
		id := t.ID
		e := ChatLogprob{Token: t.Piece, Logprob: clampLogprob(t.Logprob), Bytes: BytesOf(t.Piece), ID: &id, TopLogprobs: make([]ChatTopLogprob, len(t.Top))}
		for j, a := range t.Top {
			aid := a.ID
			e.TopLogprobs[j] = ChatTopLogprob{Token: a.Text, Logprob: clampLogprob(a.Logprob), Bytes: BytesOf(a.Text), ID: &aid}
		}
		lp.Content[i] = e
	}
	return lp
}

// TokenIDs lists the ids of tokens.
func TokenIDs(tokens []inference.Token) []int {
	ids := make([]int, len(tokens))
	for i, t := range tokens {
		ids[i] = t.ID
	}
	return ids
}

// TokensOfChat turns chat logprobs that carry ids (Merit's and llama.cpp's
// "id", or vLLM's "token_id:N" tokens) back into tokens, as a validator
// reads a miner's answer. ok is false when an entry has no id.
func TokensOfChat(lp *ChatLogprobs) (tokens []inference.Token, ok bool) {
	if lp == nil {
		return nil, false
	}
	tokens = make([]inference.Token, len(lp.Content))
	for i, e := range lp.Content {
		id, piece, ok := ResolveEntry(e.ID, e.Token, e.Bytes)
		if !ok {
			return nil, false
		}
		t := inference.Token{ID: id, Piece: piece, Text: piece, Logprob: e.Logprob}
		for _, a := range e.TopLogprobs {
			aid, apiece, ok := ResolveEntry(a.ID, a.Token, a.Bytes)
			if !ok {
				return nil, false
			}
			t.Top = append(t.Top, inference.TopLogprob{ID: aid, Text: apiece, Logprob: a.Logprob})
		}
		tokens[i] = t
	}
	return tokens, true
}

// ResolveEntry reads a chat logprob entry's token id (its "id", or vLLM's
// "token_id:N" token) and exact text (its bytes when given); ok is false
// when the entry has no id.
func ResolveEntry(id *int, token string, bytes []int) (int, string, bool) {
	piece := token
	if s, ok := StringOf(bytes); ok && bytes != nil {
		piece = s
	}
	if id != nil {
		return *id, piece, true
	}
	if n, ok := ParseTokenID(token); ok {
		return n, "", true // vLLM replaced the text by the id; the bytes are of "token_id:N"
	}
	return 0, piece, false
}
