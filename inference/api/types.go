package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Object names used in responses.
const (
	ObjectTextCompletion = "text_completion"
	ObjectChatCompletion = "chat.completion"
	ObjectChatChunk      = "chat.completion.chunk"
	ObjectModel          = "model"
	ObjectList           = "list"
)

// StreamOptions is OpenAI's stream_options.
type StreamOptions struct {
	// IncludeUsage asks for a final chunk carrying usage.
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// CompletionRequest is a /v1/completions request.
type CompletionRequest struct {
	Model         string         `json:"model"`
	Prompt        Prompt         `json:"prompt"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	N             *int           `json:"n,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// Logprobs is the number of alternatives per token (legacy shape); 0
	// still returns the chosen tokens' logprobs.
	Logprobs *int     `json:"logprobs,omitempty"`
	Echo     bool     `json:"echo,omitempty"`
	Stop     StopList `json:"stop,omitempty"`
	Seed     *uint64  `json:"seed,omitempty"`
	User     string   `json:"user,omitempty"`

	// ReturnTokenIDs (vLLM, Merit) adds token_ids and prompt_token_ids to choices.
	ReturnTokenIDs bool `json:"return_token_ids,omitempty"`
	// ReturnTokensAsTokenIDs (vLLM) writes tokens in logprobs as "token_id:N".
	ReturnTokensAsTokenIDs bool `json:"return_tokens_as_token_ids,omitempty"`
	// NProbs (llama.cpp) is its name for the number of alternatives.
	NProbs *int `json:"n_probs,omitempty"`
}

// ChatCompletionRequest is a /v1/chat/completions request.
type ChatCompletionRequest struct {
	Model               string         `json:"model"`
	Messages            []ChatMessage  `json:"messages"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	N                   *int           `json:"n,omitempty"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *StreamOptions `json:"stream_options,omitempty"`
	Stop                StopList       `json:"stop,omitempty"`
	Seed                *uint64        `json:"seed,omitempty"`
	// Logprobs asks for the chosen tokens' logprobs, TopLogprobs for
	// alternatives (0..20).
	Logprobs    bool   `json:"logprobs,omitempty"`
	TopLogprobs *int   `json:"top_logprobs,omitempty"`
	User        string `json:"user,omitempty"`

	ReturnTokenIDs         bool `json:"return_token_ids,omitempty"`
	ReturnTokensAsTokenIDs bool `json:"return_tokens_as_token_ids,omitempty"`
	NProbs                 *int `json:"n_probs,omitempty"`
}

// CompletionMaxTokens is max_completion_tokens if set, else max_tokens.
func (r *ChatCompletionRequest) CompletionMaxTokens() *int {
	if r.MaxCompletionTokens != nil {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
}

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string         `json:"role"`
	Content MessageContent `json:"content"`
	Name    string         `json:"name,omitempty"`
}

// MessageContent is a message's text. It unmarshals from a string, null, or
// an array of content parts (whose "text" parts are concatenated) and
// marshals as a string.
type MessageContent string

// UnmarshalJSON implements json.Unmarshaler.
func (c *MessageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = MessageContent(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("message content must be a string or an array of parts: %w", err)
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return fmt.Errorf("unsupported content part type %q", p.Type)
		}
		sb.WriteString(p.Text)
	}
	*c = MessageContent(sb.String())
	return nil
}

// Prompt is a completion prompt: text or token ids. Arrays of one prompt are
// accepted; batches of several are not.
type Prompt struct {
	Text   string
	Tokens []int // non-nil when the prompt was given as token ids
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Prompt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*p = Prompt{}
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if b[0] == '"' {
		return json.Unmarshal(b, &p.Text)
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err != nil {
		return errors.New("prompt must be a string, an array of token ids, or an array of one of those")
	}
	if len(arr) == 0 {
		p.Tokens = []int{}
		return nil
	}
	first := bytes.TrimSpace(arr[0])
	if len(first) > 0 && (first[0] == '"' || first[0] == '[') {
		if len(arr) != 1 {
			return fmt.Errorf("batched prompts (%d) are not supported", len(arr))
		}
		if err := p.UnmarshalJSON(first); err != nil {
			return err
		}
		if p.Tokens == nil && first[0] == '[' {
			return errors.New("prompt must not nest arrays twice")
		}
		return nil
	}
	p.Tokens = make([]int, len(arr))
	for i, raw := range arr {
		if err := json.Unmarshal(raw, &p.Tokens[i]); err != nil {
			return fmt.Errorf("prompt token %d: %w", i, err)
		}
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (p Prompt) MarshalJSON() ([]byte, error) {
	if p.Tokens != nil {
		return json.Marshal(p.Tokens)
	}
	return json.Marshal(p.Text)
}

// StopList is "stop": a string or an array of strings.
type StopList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StopList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// FinishReason marshals the empty reason as null, as streaming chunks carry it.
type FinishReason string

// MarshalJSON implements json.Marshaler.
func (f FinishReason) MarshalJSON() ([]byte, error) {
	if f == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(f))
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// CompletionResponse is a /v1/completions response, and also each chunk of
// its stream (object "text_completion" in both).
type CompletionResponse struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage,omitempty"`
}

// CompletionChoice is one choice of a completion or chunk.
type CompletionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *CompletionLogprobs `json:"logprobs"`
	FinishReason FinishReason        `json:"finish_reason"`
	// StopReason (vLLM) is the stop string or token id that ended generation.
	StopReason     json.RawMessage `json:"stop_reason,omitempty"`
	PromptTokenIDs []int           `json:"prompt_token_ids,omitempty"`
	TokenIDs       []int           `json:"token_ids,omitempty"`
}

// CompletionLogprobs is the legacy completions logprobs shape. llama.cpp
// returns the chat shape (Content) on /v1/completions instead; both decode.
type CompletionLogprobs struct {
	Tokens        []string        `json:"tokens,omitempty"`
	TokenLogprobs []float64       `json:"token_logprobs,omitempty"` // null (first echoed prompt token) decodes as 0
	TopLogprobs   []TopLogprobMap `json:"top_logprobs,omitempty"`
	TextOffset    []int           `json:"text_offset,omitempty"`
	Content       []ChatLogprob   `json:"content,omitempty"`
}

// TokenLogprob is one entry of a legacy top_logprobs object.
type TokenLogprob struct {
	Token   string
	Logprob float64
}

// TopLogprobMap is a legacy top_logprobs object ({"token": logprob, ...})
// that keeps its entries in order, best first.
type TopLogprobMap []TokenLogprob

// MarshalJSON writes the entries as a JSON object in order.
func (m TopLogprobMap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Token)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.Logprob)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object keeping the order of its keys.
func (m *TopLogprobMap) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		*m = nil
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return errors.New("top_logprobs entry must be an object")
	}
	out := TopLogprobMap{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		var v float64
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("top_logprobs[%q]: %w", kt, err)
		}
		out = append(out, TokenLogprob{Token: kt.(string), Logprob: v})
	}
	*m = out
	return nil
}

// ChatCompletionResponse is a /v1/chat/completions response.
type ChatCompletionResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
}

// ChatChoice is one choice of a chat response.
type ChatChoice struct {
	Index          int             `json:"index"`
	Message        ChatMessage     `json:"message"`
	Logprobs       *ChatLogprobs   `json:"logprobs"`
	FinishReason   FinishReason    `json:"finish_reason"`
	StopReason     json.RawMessage `json:"stop_reason,omitempty"`
	PromptTokenIDs []int           `json:"prompt_token_ids,omitempty"`
	TokenIDs       []int           `json:"token_ids,omitempty"`
}

// ChatCompletionChunk is one SSE chunk of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint,omitempty"`
	Choices           []ChatChunkChoice `json:"choices"`
	Usage             *Usage            `json:"usage,omitempty"`
}

// ChatChunkChoice is one choice of a chat chunk.
type ChatChunkChoice struct {
	Index          int             `json:"index"`
	Delta          ChatDelta       `json:"delta"`
	Logprobs       *ChatLogprobs   `json:"logprobs"`
	FinishReason   FinishReason    `json:"finish_reason"`
	StopReason     json.RawMessage `json:"stop_reason,omitempty"`
	PromptTokenIDs []int           `json:"prompt_token_ids,omitempty"`
	TokenIDs       []int           `json:"token_ids,omitempty"`
}

// ChatDelta is the incremental message of a chunk.
type ChatDelta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

// ChatLogprobs is the chat logprobs shape.
type ChatLogprobs struct {
	Content []ChatLogprob `json:"content"`
}

// ChatLogprob is the logprob of one generated token with its alternatives.
type ChatLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	// Bytes are the token's exact bytes (Token may have lost some to UTF-8
	// repair when a token splits a character).
	Bytes       []int            `json:"bytes"`
	TopLogprobs []ChatTopLogprob `json:"top_logprobs"`
	// ID is the token id (llama.cpp, Merit).
	ID *int `json:"id,omitempty"`
}

// ChatTopLogprob is one alternative.
type ChatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
	ID      *int    `json:"id,omitempty"`
}

// ErrorResponse is the OpenAI error envelope.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes an error.
type ErrorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   *string         `json:"param"`
	Code    json.RawMessage `json:"code,omitempty"` // a string (OpenAI) or a number (llama.cpp, vLLM)
}

// DecodeError extracts an error from a response body in any of the common
// shapes: OpenAI's and llama.cpp's {"error": {...}}, vLLM's flat
// {"object": "error", "message": ...}, {"error": "text"}, or plain text.
func DecodeError(b []byte) ErrorBody {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Object  string          `json:"object"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(b, &env) == nil {
		var body ErrorBody
		switch {
		case len(env.Error) > 0 && env.Error[0] == '{' && json.Unmarshal(env.Error, &body) == nil:
			return body
		case len(env.Error) > 0 && env.Error[0] == '"' && json.Unmarshal(env.Error, &body.Message) == nil:
			return body
		case env.Message != "":
			return ErrorBody{Message: env.Message, Type: env.Type}
		case len(env.Detail) > 0: // FastAPI validation errors
			return ErrorBody{Message: string(env.Detail), Type: "invalid_request_error"}
		}
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	return ErrorBody{Message: msg}
}

// ModelList is the /v1/models response.
type ModelList struct {
	Object string      `json:"object"`
	Data   []ModelCard `json:"data"`
}

// ModelCard describes one model. Besides OpenAI's fields it reads vLLM's
// max_model_len and llama.cpp's meta, and carries Merit's identity fields.
type ModelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// MaxModelLen is vLLM's context length.
	MaxModelLen int `json:"max_model_len,omitempty"`
	// Meta is llama.cpp's model metadata.
	Meta *LlamaCppMeta `json:"meta,omitempty"`
	// Merit extensions.
	SHA256        string `json:"sha256,omitempty"`
	Format        string `json:"format,omitempty"`
	ContextLength int    `json:"context_length,omitempty"`
	VocabSize     int    `json:"vocab_size,omitempty"`
}

// LlamaCppMeta is the "meta" object llama.cpp's /v1/models returns.
type LlamaCppMeta struct {
	VocabType int   `json:"vocab_type"`
	NVocab    int   `json:"n_vocab"`
	NCtxTrain int   `json:"n_ctx_train"`
	NEmbd     int   `json:"n_embd"`
	NParams   int64 `json:"n_params"`
	Size      int64 `json:"size"`
}

// ParseTokenID reads vLLM's "token_id:N" token strings.
func ParseTokenID(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "token_id:")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(rest)
	if err != nil || id < 0 {
		return 0, false
	}
	return id, true
}

// BytesOf lists the bytes of s as JSON-friendly ints (the "bytes" field).
func BytesOf(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}

// StringOf is the inverse of BytesOf; it reports false when a value is not a byte.
func StringOf(b []int) (string, bool) {
	out := make([]byte, len(b))
	for i, v := range b {
		if v < 0 || v > 255 {
			return "", false
		}
		out[i] = byte(v)
	}
	return string(out), true
}

// ResponseChunk decodes any completion or chat response, and every chunk of
// their streams, from any of the dialects (OpenAI, vLLM, llama.cpp, Merit
// miners): text, message or delta content, logprobs in the legacy shape or
// the chat content[] shape, token ids and the finish reason. Clients that
// read answers (the upstream backend, the validator) share it.
type ResponseChunk struct {
	Error   json.RawMessage `json:"error"`
	Choices []struct {
		Index        int                       `json:"index"`
		Text         *string                   `json:"text"`
		Message      *struct{ Content string } `json:"message"`
		Delta        *struct{ Content string } `json:"delta"`
		Logprobs     *CompletionLogprobs       `json:"logprobs"`
		FinishReason *string                   `json:"finish_reason"`
		TokenIDs     []int                     `json:"token_ids"`
		PromptIDs    []int                     `json:"prompt_token_ids"`
	} `json:"choices"`
}
