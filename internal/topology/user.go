package topology

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// UserConfig shapes a user's traffic: a steady, paced stream of short chat
// requests, half of them streamed, as a person or an agent would send.
type UserConfig struct {
	// BaseURL of the OpenAI-compatible API, e.g. http://127.0.0.1:7001/v1.
	BaseURL string
	// APIKey is the bearer token (a paid account's key).
	APIKey string
	// Model asked for (default merit-tiny; a Merit gateway serves its subnet's model whatever the name).
	Model string
	// Interval between request starts (default 700ms).
	Interval time.Duration
	// MaxTokens per request (default 24).
	MaxTokens int64
	// StreamEvery: every n-th request streams (default 2, half of them; 1 all, -1 none).
	StreamEvery int
	// Timeout of one request (default 30s).
	Timeout time.Duration
}

func (c *UserConfig) defaults() {
	if c.Model == "" {
		c.Model = "merit-tiny"
	}
	if c.Interval == 0 {
		c.Interval = 700 * time.Millisecond
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 24
	}
	if c.StreamEvery == 0 {
		c.StreamEvery = 2
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
}

// Billing is what a gateway's X-Merit-* headers (trailers for streams) say
// about one paid request. Fields a response did not carry are -1 ("" for Account).
type Billing struct {
	Account string
	Price   int64 // umerit per million tokens
	Tokens  int64 // prompt + completion tokens billed
	Cost    int64 // umerit charged for this request
	Balance int64 // umerit left after it
}

// Result is one request's outcome.
type Result struct {
	Stream bool
	// Status is the HTTP status, 0 when no response came (connection error, timeout).
	Status int
	// Code and Message of a refused request's OpenAI error (e.g. insufficient_quota).
	Code, Message string
	Err           error
	// Usage from the answer itself (the final chunk of a stream).
	PromptTokens, CompletionTokens int64
	Billing                        Billing
	MinerUID                       string // X-Merit-Miner-Uid: which miner answered
	Latency                        time.Duration
}

// OK reports a served answer.
func (r Result) OK() bool { return r.Err == nil && r.Status == http.StatusOK }

// UserStats are a user's running totals.
type UserStats struct {
	Requests, OK, Failed, Streamed int64
	// ByStatus counts responses per HTTP status (0: no response).
	ByStatus map[int]int64
	// ByCode counts refusals per OpenAI error code.
	ByCode map[string]int64
	// ByMiner counts served answers per miner UID.
	ByMiner map[string]int64
	// Usage tokens reported in the answers.
	PromptTokens, CompletionTokens int64
	// From the X-Merit-* headers: tokens billed, umerit charged, and how many
	// served answers carried no cost (free keys, or a stream whose trailers
	// did not arrive).
	BilledTokens, Cost, Unbilled int64
	// Balance is the last X-Merit-Balance seen (-1: none yet); Price and Account likewise.
	Balance int64
	Price   int64
	Account string
	// LastError is the most recent failure, for display.
	LastError string
}

func (s UserStats) clone() UserStats {
	c := s
	c.ByStatus, c.ByCode, c.ByMiner = copyMap(s.ByStatus), copyMap(s.ByCode), copyMap(s.ByMiner)
	return c
}

func copyMap[K comparable](m map[K]int64) map[K]int64 {
	out := make(map[K]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Sub is s − prev for the counters (Balance, Price, Account stay s's): what
// happened between two snapshots.
func (s UserStats) Sub(prev UserStats) UserStats {
	d := s.clone()
	d.Requests -= prev.Requests
	d.OK -= prev.OK
	d.Failed -= prev.Failed
	d.Streamed -= prev.Streamed
	d.PromptTokens -= prev.PromptTokens
	d.CompletionTokens -= prev.CompletionTokens
	d.BilledTokens -= prev.BilledTokens
	d.Cost -= prev.Cost
	d.Unbilled -= prev.Unbilled
	for k, v := range prev.ByStatus {
		d.ByStatus[k] -= v
	}
	for k, v := range prev.ByCode {
		d.ByCode[k] -= v
	}
	for k, v := range prev.ByMiner {
		d.ByMiner[k] -= v
	}
	return d
}

// StatusLine renders the counts per status, e.g. "200×41 402×2".
func (s UserStats) StatusLine() string {
	return countLine(s.ByStatus, func(k int) string {
		if k == 0 {
			return "no-response"
		}
		return strconv.Itoa(k)
	})
}

// CodeLine renders the refusals per error code, e.g. "insufficient_quota×2".
func (s UserStats) CodeLine() string {
	return countLine(s.ByCode, func(k string) string { return k })
}

func countLine[K int | string](m map[K]int64, name func(K) string) string {
	keys := make([]K, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", name(k), m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// User sends chat requests through an OpenAI-compatible API with the
// official Go SDK and keeps count of what was served and what it cost.
type User struct {
	cfg    UserConfig
	client openai.Client

	mu    sync.Mutex
	stats UserStats
	n     int
}

// userPrompts are short story openings: merit-tiny is a TinyStories model.
var userPrompts = []string{
	"Once upon a time, there was a little cat who",
	"Tell me a story about a red ball.",
	"Lily and Tom went to the park. They",
	"Write one sentence about the sun.",
	"The dog was sad because",
	"Tim found a big box in the garden.",
	"What did the bird see from the tree?",
	"Sue wanted to bake a cake for her mom.",
}

// NewUser returns a user for cfg; Run or Request send the traffic.
func NewUser(cfg UserConfig) *User {
	cfg.defaults()
	u := &User{cfg: cfg}
	u.stats = UserStats{ByStatus: map[int]int64{}, ByCode: map[string]int64{}, ByMiner: map[string]int64{}, Balance: -1, Price: -1}
	u.client = openai.NewClient(
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIKey(cfg.APIKey),
		// Every refusal is counted as the gateway gave it; the pacing is the back-off.
		option.WithMaxRetries(0),
		option.WithRequestTimeout(cfg.Timeout),
	)
	return u
}

// Run sends one request every Interval until ctx ends (a slow answer delays
// the next start rather than piling requests up) and returns the totals.
func (u *User) Run(ctx context.Context) UserStats {
	t := time.NewTicker(u.cfg.Interval)
	defer t.Stop()
	for {
		u.mu.Lock()
		u.n++
		i := u.n
		u.mu.Unlock()
		stream := u.cfg.StreamEvery > 0 && i%u.cfg.StreamEvery == 0
		res := u.Request(ctx, userPrompts[i%len(userPrompts)], stream)
		if ctx.Err() == nil || res.Status != 0 {
			u.record(res)
		}
		select {
		case <-ctx.Done():
			return u.Stats()
		case <-t.C:
		}
	}
}

// Stats is a snapshot of the totals.
func (u *User) Stats() UserStats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stats.clone()
}

func (u *User) record(r Result) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := &u.stats
	s.Requests++
	s.ByStatus[r.Status]++
	if r.Stream {
		s.Streamed++
	}
	if !r.OK() {
		s.Failed++
		if r.Code != "" {
			s.ByCode[r.Code]++
		}
		switch {
		case r.Message != "":
			s.LastError = fmt.Sprintf("%d %s: %s", r.Status, r.Code, r.Message)
		case r.Err != nil:
			s.LastError = r.Err.Error()
		}
		return
	}
	s.OK++
	s.ByMiner[r.MinerUID]++
	s.PromptTokens += r.PromptTokens
	s.CompletionTokens += r.CompletionTokens
	b := r.Billing
	if b.Cost < 0 {
		s.Unbilled++
	} else {
		s.Cost += b.Cost
	}
	if b.Tokens >= 0 {
		s.BilledTokens += b.Tokens
	}
	if b.Balance >= 0 {
		s.Balance = b.Balance
	}
	if b.Price >= 0 {
		s.Price = b.Price
	}
	if b.Account != "" {
		s.Account = b.Account
	}
}

// Request sends one chat request, streamed or not, and reads the answer
// and its billing headers.
func (u *User) Request(ctx context.Context, prompt string, stream bool) Result {
	params := openai.ChatCompletionNewParams{
		Model:     u.cfg.Model,
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		MaxTokens: openai.Int(u.cfg.MaxTokens),
	}
	var resp *http.Response
	opts := []option.RequestOption{option.WithMiddleware(captureResponse(&resp))}
	res := Result{Stream: stream}
	start := time.Now()
	if !stream {
		cc, err := u.client.Chat.Completions.New(ctx, params, opts...)
		res.Latency = time.Since(start)
		res.Err = err
		if err == nil {
			res.PromptTokens, res.CompletionTokens = cc.Usage.PromptTokens, cc.Usage.CompletionTokens
		}
	} else {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		s := u.client.Chat.Completions.NewStreaming(ctx, params, opts...)
		chunks := 0
		for s.Next() {
			c := s.Current()
			chunks++
			if c.Usage.TotalTokens > 0 {
				res.PromptTokens, res.CompletionTokens = c.Usage.PromptTokens, c.Usage.CompletionTokens
			}
		}
		res.Err = s.Err()
		_ = s.Close() // drains the body, so the trailers are in resp.Trailer
		res.Latency = time.Since(start)
		if res.Err == nil && chunks == 0 {
			res.Err = errors.New("stream ended without a chunk")
		}
	}
	var apiErr *openai.Error
	if errors.As(res.Err, &apiErr) {
		res.Status, res.Code, res.Message = apiErr.StatusCode, apiErr.Code, apiErr.Message
	} else if resp != nil {
		res.Status = resp.StatusCode
	}
	if resp != nil {
		res.MinerUID = resp.Header.Get("X-Merit-Miner-Uid")
		res.Billing = ParseBilling(resp.Header, resp.Trailer)
	} else {
		res.Billing = ParseBilling(nil, nil)
	}
	return res
}

// ParseBilling reads the X-Merit-* billing fields, the trailer's value
// winning over the header's: a stream's header carries the balance before
// the request, its trailer the tokens, cost and balance after.
func ParseBilling(header, trailer http.Header) Billing {
	get := func(name string) string {
		if v := trailer.Get(name); v != "" {
			return v
		}
		return header.Get(name)
	}
	num := func(name string) int64 {
		v, err := strconv.ParseInt(get(name), 10, 64)
		if err != nil {
			return -1
		}
		return v
	}
	return Billing{
		Account: get("X-Merit-Account"), Price: num("X-Merit-Price"), Tokens: num("X-Merit-Tokens"),
		Cost: num("X-Merit-Cost"), Balance: num("X-Merit-Balance"),
	}
}

// captureResponse keeps the HTTP response of a request and makes closing
// its body read the rest first: the SDK stops reading a stream at
// "data: [DONE]" and closes it, and Go fills resp.Trailer only once the
// body has been read to its end — where a gateway puts a stream's cost.
func captureResponse(dst **http.Response) option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		resp, err := next(req)
		if resp != nil {
			if resp.Body != nil {
				resp.Body = &drainOnClose{ReadCloser: resp.Body}
			}
			*dst = resp
		}
		return resp, err
	}
}

// drainLimit bounds what is read after [DONE]: a gateway sends only the
// end of the chunked body and its trailers there.
const drainLimit = 64 << 10

type drainOnClose struct{ io.ReadCloser }

func (d *drainOnClose) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(d.ReadCloser, drainLimit))
	return d.ReadCloser.Close()
}
