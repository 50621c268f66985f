package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// maxGatewayBody bounds a user's request body.
const maxGatewayBody = 1 << 20

// gatewayRequest is a user's request, normalized for a miner.
type gatewayRequest struct {
	path   string
	body   []byte
	stream bool
	engine inference.GenerateRequest
	topK   int
	// maxTokens is the completion limit sent to the miner (0: the model's
	// context); bound what the request can be billed at most.
	maxTokens int
	bound     uint64
	// promptTokens is the exact prompt size when the reference is local.
	promptTokens uint64
}

// normalize parses a user's request and rewrites it so every answer can be
// verified: the subnet's model, a token limit within the subnet's, token ids
// and logprobs on, and an explicit seed for sampled requests (the verifier
// replays the sampler).
func (g *Gateway) normalize(path string, raw []byte, modelID string) (*gatewayRequest, error) {
	limit := 0
	if g.cfg.MaxTokens != nil {
		limit = g.cfg.MaxTokens()
	}
	var (
		out  *gatewayRequest
		wire any
		err  error
	)
	switch path {
	case "/v1/completions":
		out, wire, err = normalizeCompletion(raw, modelID, limit)
	case "/v1/chat/completions":
		out, wire, err = normalizeChat(raw, modelID, limit)
	default:
		return nil, fmt.Errorf("unknown endpoint %s", path)
	}
	if err != nil {
		return nil, err
	}
	out.path = path
	if out.body, err = json.Marshal(wire); err != nil {
		return nil, err
	}
	return out, nil
}

// normalizeCompletion rewrites a /v1/completions request; wire is what
// goes to the miner.
func normalizeCompletion(raw []byte, modelID string, limit int) (out *gatewayRequest, wire any, err error) {
	var req api.CompletionRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if req.N != nil && *req.N > 1 {
		return nil, nil, errors.New("n > 1 is not supported")
	}
	if req.Echo {
		return nil, nil, errors.New("echo is not supported")
	}
	if err := positiveTokens(req.MaxTokens); err != nil {
		return nil, nil, err
	}
	req.Model = modelID
	req.MaxTokens = capTokens(req.MaxTokens, limit)
	req.Temperature, req.Seed = explicitSampling(req.Temperature, req.Seed)
	req.ReturnTokenIDs = true
	if req.Logprobs == nil {
		zero := 0
		req.Logprobs = &zero
	}
	out = &gatewayRequest{stream: req.Stream, engine: inference.GenerateRequest{Prompt: req.Prompt.Text,
		PromptTokens: req.Prompt.Tokens, Temperature: *req.Temperature, Stop: req.Stop}}
	out.sampling(req.MaxTokens, req.TopP, req.Seed)
	return out, &req, nil
}

// normalizeChat rewrites a /v1/chat/completions request; wire is what
// goes to the miner.
func normalizeChat(raw []byte, modelID string, limit int) (out *gatewayRequest, wire any, err error) {
	var req api.ChatCompletionRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if len(req.Messages) == 0 {
		return nil, nil, errors.New("messages must not be empty")
	}
	if req.N != nil && *req.N > 1 {
		return nil, nil, errors.New("n > 1 is not supported")
	}
	if err := positiveTokens(req.CompletionMaxTokens()); err != nil {
		return nil, nil, err
	}
	req.Model = modelID
	req.MaxTokens = capTokens(req.CompletionMaxTokens(), limit)
	req.MaxCompletionTokens = nil
	req.Temperature, req.Seed = explicitSampling(req.Temperature, req.Seed)
	req.ReturnTokenIDs = true
	req.Logprobs = true
	msgs := make([]inference.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = inference.Message{Role: m.Role, Content: string(m.Content)}
	}
	out = &gatewayRequest{stream: req.Stream, engine: inference.GenerateRequest{Messages: msgs,
		Temperature: *req.Temperature, Stop: req.Stop}}
	if req.TopLogprobs != nil {
		out.topK = *req.TopLogprobs
	}
	out.sampling(req.MaxTokens, req.TopP, req.Seed)
	return out, &req, nil
}

// sampling copies the limits both request shapes carry into the engine
// request the verifier replays.
func (r *gatewayRequest) sampling(maxTokens *int, topP *float64, seed *uint64) {
	if maxTokens != nil {
		r.engine.MaxTokens = *maxTokens
		r.maxTokens = *maxTokens
	}
	if topP != nil {
		r.engine.TopP = *topP
	}
	if seed != nil {
		r.engine.Seed = *seed
	}
}

// capTokens is the completion limit sent to the miner: the user's, within
// the subnet's limit (0: none); nil when neither sets one.
func capTokens(p *int, limit int) *int {
	n := limit
	if p != nil && *p > 0 && (limit == 0 || *p < limit) {
		n = *p
	}
	if n == 0 {
		return nil
	}
	return &n
}

// explicitSampling makes the temperature explicit (OpenAI's default is 1)
// and gives a sampled request a secret seed, so the verifier can replay it.
func explicitSampling(temp *float64, seed *uint64) (*float64, *uint64) {
	t := 1.0
	if temp != nil {
		t = *temp
	}
	if t < 0 || math.IsNaN(t) {
		t = 0
	}
	if seed == nil && t > 0 {
		s := randomSeed()
		seed = &s
	}
	return &t, seed
}

// positiveTokens refuses a token limit below 1, as OpenAI does; passing it
// on would let a miner answer at its default length.
func positiveTokens(p *int) error {
	if p != nil && *p < 1 {
		return &paramError{param: "max_tokens", msg: fmt.Sprintf("max_tokens must be at least 1, got %d", *p)}
	}
	return nil
}

// randomSeed is a secret non-zero seed. crypto/rand.Read does not fail
// (since Go 1.24 it crashes the program instead).
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// paramError is a bad request naming the offending field.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string { return e.msg }
