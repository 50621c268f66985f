package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

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

func paidHeaders(h http.Header, account, price uint64) {
	h.Set(HeaderAccount, strconv.FormatUint(account, 10))
	h.Set(HeaderPrice, fmt.Sprint(price))
}
