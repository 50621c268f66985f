package gateway

import (
	"bytes"
	"encoding/json"

	"github.com/meritnet/merit/validator/billing"
)

// MeritUsage is the "merit" object the gateway adds to a stream's usage
// chunk: what the request cost the account.
type MeritUsage struct {
	Account uint64 `json:"account"`
	Tokens  uint64 `json:"tokens"`
	// Cost and Balance are umerit; Price umerit per million tokens.
	Cost    uint64 `json:"cost"`
	Balance uint64 `json:"balance"`
	Price   uint64 `json:"price"`
}

// isUsageChunk says a stream chunk carries usage (OpenAI sends it last,
// with no choices, when stream_options.include_usage is set).
func isUsageChunk(data []byte) bool {
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return false
	}
	var c struct {
		Usage json.RawMessage `json:"usage"`
	}
	return json.Unmarshal(data, &c) == nil && len(c.Usage) > 0 && string(c.Usage) != "null"
}

// withMeritUsage adds the receipt to a chunk as "merit"; the chunk is
// returned unchanged when it cannot be rewritten.
func withMeritUsage(data []byte, r *billing.Receipt) []byte {
	if r == nil {
		return data
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return data
	}
	m, _ := json.Marshal(MeritUsage{Account: r.Account, Tokens: r.Tokens, Cost: r.Cost, Balance: r.Balance, Price: r.Price})
	obj["merit"] = m
	out, err := json.Marshal(obj)
	if err != nil {
		return data
	}
	return out
}

// countTokens reads only the token ids of a whole (not streamed) answer:
// metering must not pay for decoding the logprobs. A compact answer (as
// merit-miner writes it) has its two id arrays counted where they stand —
// an unescaped `"token_ids":[` cannot occur inside a JSON string — and
// anything else is decoded; an answer without ids counts what its usage
// says. Either way the bill is capped by what was admitted.
func countTokens(body []byte) (prompt, completion uint64) {
	p, okP := countIDs(body, `"prompt_token_ids":[`)
	c, okC := countIDs(body, `"token_ids":[`)
	if okP && okC {
		return p, c
	}
	return decodeTokens(body)
}

// countIDs counts the integers of the first array that follows key, if it
// holds only digits and commas.
func countIDs(body []byte, key string) (uint64, bool) {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(key):]
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	arr := rest[:end]
	if len(arr) == 0 {
		return 0, true
	}
	n := uint64(1)
	for _, ch := range arr {
		switch {
		case ch == ',':
			n++
		case ch < '0' || ch > '9':
			return 0, false
		}
	}
	return n, true
}

func decodeTokens(body []byte) (prompt, completion uint64) {
	var r struct {
		Choices []struct {
			Index     int   `json:"index"`
			TokenIDs  []int `json:"token_ids"`
			PromptIDs []int `json:"prompt_token_ids"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(body, &r) != nil {
		return 0, 0
	}
	for _, c := range r.Choices {
		if c.Index == 0 {
			prompt, completion = uint64(len(c.PromptIDs)), uint64(len(c.TokenIDs))
		}
	}
	if completion == 0 && r.Usage != nil && r.Usage.CompletionTokens > 0 {
		completion = uint64(r.Usage.CompletionTokens)
	}
	if prompt == 0 && r.Usage != nil && r.Usage.PromptTokens > 0 {
		prompt = uint64(r.Usage.PromptTokens)
	}
	return prompt, completion
}
