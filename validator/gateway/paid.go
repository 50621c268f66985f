package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/reference"
)

// Response headers of paid requests (docs/payment.md). For streams the
// account, price and balance before the request are headers, and tokens,
// cost and balance after it arrive as trailers.
const (
	HeaderAccount = "X-Merit-Account"
	HeaderPrice   = "X-Merit-Price"
	HeaderTokens  = "X-Merit-Tokens"
	HeaderCost    = "X-Merit-Cost"
	HeaderBalance = "X-Merit-Balance"
)

// authenticate reads the bearer key: one of the operator's keys (free), or
// a key the meter knows (paid). On failure it has answered.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) (user, token string, paid, ok bool) {
	if g.cfg.Keys != nil {
		if err := g.cfg.Keys.maybeReload(); err != nil {
			g.cfg.Log.Error("gateway keys file unreadable; keeping the previous keys", zap.Error(err))
		}
	}
	// Only the Bearer scheme (RFC 6750; the scheme name is case-insensitive):
	// a bare key in the header is a client bug worth a clear 401.
	auth := r.Header.Get("Authorization")
	hasBearer := len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ")
	if hasBearer {
		token = strings.TrimSpace(auth[7:])
	}
	if hasBearer && g.cfg.Keys != nil {
		if name, found := g.cfg.Keys.Check(token); found {
			return name, token, false, true
		}
	}
	err := billing.ErrUnknownKey
	if hasBearer && token != "" && g.cfg.Meter != nil {
		// A zero-token admission checks the key without holding anything.
		var t *billing.Ticket
		if t, err = g.cfg.Meter.Admit(token, 0); err == nil {
			t.Cancel()
			return "", token, true, true
		}
		var ie *billing.InsufficientError
		if errors.As(err, &ie) {
			return "", token, true, true // the key is good; admission says 402 with the request's size
		}
	}
	switch {
	case errors.Is(err, billing.ErrNotAllowed):
		g.count("forbidden")
		g.fail(w, http.StatusForbidden, "gateway_not_allowed", nil, "this API key's account does not allow this gateway ("+err.Error()+"); use one of its allowed gateways")
	case errors.Is(err, billing.ErrNotReady):
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "not_ready", nil, "the gateway has not read the chain's accounts yet; retry in a few seconds")
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="merit-gateway"`)
		g.count("unauthorized")
		g.fail(w, http.StatusUnauthorized, "invalid_api_key", nil, "missing or unknown API key (or its account is closed)")
	}
	return "", "", false, false
}

// admit holds the request's largest cost against the key's account; on
// refusal it has answered 402.
func (g *Gateway) admit(w http.ResponseWriter, token string, req *gatewayRequest, ref *reference.Reference) (*billing.Ticket, bool) {
	req.bound = g.billBound(req, ref)
	t, err := g.cfg.Meter.Admit(token, req.bound)
	if err == nil {
		return t, true
	}
	var ie *billing.InsufficientError
	if errors.As(err, &ie) {
		g.count("payment_required")
		paidHeaders(w.Header(), ie.Account, ie.Price)
		w.Header().Set(HeaderBalance, strconv.FormatUint(ie.Available, 10))
		param := "max_tokens"
		g.fail(w, http.StatusPaymentRequired, "insufficient_quota", &param,
			ie.Error()+"; top up with `meritd tx payment deposit`, or ask for fewer max_tokens")
		return nil, false
	}
	// The account changed between the key check and now (closed, rotated).
	w.Header().Set("WWW-Authenticate", `Bearer realm="merit-gateway"`)
	g.count("unauthorized")
	g.fail(w, http.StatusUnauthorized, "invalid_api_key", nil, err.Error())
	return nil, false
}

// billBound is the most a request can be billed: its prompt tokens (exact
// with a local reference; otherwise one per byte plus the chat template,
// which no tokenizer exceeds) plus its completion limit, never more than
// the model's context.
func (g *Gateway) billBound(req *gatewayRequest, ref *reference.Reference) uint64 {
	ctxLen := uint64(ref.Engine.Info().ContextLength)
	var prompt uint64
	if ids, ok := ref.ExpectedPrompt(req.engine); ok {
		prompt = uint64(len(ids))
		req.promptTokens = prompt
	} else {
		prompt = uint64(len(req.engine.Prompt) + len(req.engine.PromptTokens) + 2)
		for _, m := range req.engine.Messages {
			prompt += uint64(len(m.Content)+len(m.Role)) + 8
		}
	}
	completion := uint64(req.maxTokens)
	if completion == 0 {
		completion = ctxLen
	}
	if ctxLen > 0 {
		return min(prompt+completion, ctxLen)
	}
	return prompt + completion
}

// meter bills a served request: its prompt tokens (counted by the
// gateway with a local reference, else as the answer reports them) and
// the completion tokens the answer carried, never more than admitted. It
// sets the cost headers (trailers once the body started).
func (g *Gateway) meter(h http.Header, t *billing.Ticket, req *gatewayRequest, prompt, completion uint64) *billing.Receipt {
	if t == nil {
		return nil
	}
	if req.promptTokens > 0 {
		prompt = req.promptTokens
	}
	tokens := min(prompt+completion, req.bound)
	r, err := t.Finish(tokens)
	if g.cfg.Metered != nil {
		g.cfg.Metered(r, err)
	}
	if err != nil {
		g.cfg.Log.Error("gateway: usage served but not written; it is kept in memory and written with the next request", zap.Error(err))
	}
	paidHeaders(h, r.Account, r.Price)
	h.Set(HeaderTokens, strconv.FormatUint(r.Tokens, 10))
	h.Set(HeaderCost, strconv.FormatUint(r.Cost, 10))
	h.Set(HeaderBalance, strconv.FormatUint(r.Balance, 10))
	return &r
}

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

func paidHeaders(h http.Header, account, price uint64) {
	h.Set(HeaderAccount, strconv.FormatUint(account, 10))
	h.Set(HeaderPrice, fmt.Sprint(price))
}
