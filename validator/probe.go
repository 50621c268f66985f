package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/miners"
)

// probeTopLogprobs is how many alternatives chat probes ask for: they are
// checked too, which makes a cheaper model harder to pass off. Completion
// probes ask for none, because the legacy shape keys alternatives by text,
// not id.
const probeTopLogprobs = 2

// Request is a completion request to a miner, as JSON and as the engine
// request the verifier compares the answer with.
type Request struct {
	Path   string // /v1/completions or /v1/chat/completions
	Body   []byte
	Engine inference.GenerateRequest
	// TopLogprobs asked for (alternatives are verified only when asked).
	TopLogprobs int
}

// NewProbeRequest builds a greedy, streamed request for a probe prompt.
func NewProbeRequest(p Prompt, modelID string, maxTokens int) (Request, error) {
	temp := 0.0
	mt := maxTokens
	if p.Chat {
		msgs := make([]api.ChatMessage, len(p.Messages))
		for i, m := range p.Messages {
			msgs[i] = api.ChatMessage{Role: m.Role, Content: api.MessageContent(m.Content)}
		}
		k := probeTopLogprobs
		body, err := json.Marshal(api.ChatCompletionRequest{
			Model: modelID, Messages: msgs, MaxTokens: &mt, Temperature: &temp, Stream: true,
			StreamOptions: &api.StreamOptions{IncludeUsage: true},
			Logprobs:      true, TopLogprobs: &k, ReturnTokenIDs: true,
		})
		return Request{Path: "/v1/chat/completions", Body: body, TopLogprobs: k,
			Engine: inference.GenerateRequest{Messages: p.Messages, MaxTokens: maxTokens}}, err
	}
	zero := 0
	body, err := json.Marshal(api.CompletionRequest{
		Model: modelID, Prompt: api.Prompt{Text: p.Text}, MaxTokens: &mt, Temperature: &temp, Stream: true,
		StreamOptions: &api.StreamOptions{IncludeUsage: true}, Logprobs: &zero, ReturnTokenIDs: true,
	})
	return Request{Path: "/v1/completions", Body: body,
		Engine: inference.GenerateRequest{Prompt: p.Text, MaxTokens: maxTokens}}, err
}

// Timing is what the validator measured of one answer.
type Timing struct {
	TTFT    time.Duration
	Latency time.Duration
}

// Exchange is the raw result of one request: an answer, or a classified
// failure.
type Exchange struct {
	Parts  *inference.Claim
	Timing Timing
	// Result is ResultOK when Parts is set; otherwise the failure class
	// with Reason and Detail.
	Result string
	Reason string
	Detail string
	// OwnTraffic marks a 429 that this validator's own traffic to the
	// miner caused: it is not held against the miner.
	OwnTraffic bool
}

// AskerConfig is what an Asker calls miners with.
type AskerConfig struct {
	Client  *transport.Client
	Timeout time.Duration
	// Pacer, when set, paces probes (AskPaced); Client's transport should
	// be Pacer.Transport so that everything else is paced too.
	Pacer *Pacer
}

// Asker sends signed requests to miners and reads their answers.
type Asker struct {
	cfg AskerConfig
}

// NewAsker returns an asker.
func NewAsker(cfg AskerConfig) *Asker { return &Asker{cfg: cfg} }

// ownTrafficRetries is how many times a probe refused because of the
// validator's own traffic is sent again (after the miner's Retry-After)
// before it is given up without an outcome.
const ownTrafficRetries = 2

// AskPaced is Ask for probes under the pacer: it waits for the miner's
// budget, and a 429 that the validator's own traffic caused is retried
// after the miner's Retry-After, then marked OwnTraffic.
func (a *Asker) AskPaced(ctx context.Context, m miners.Miner, req Request) Exchange {
	if a.cfg.Pacer == nil {
		return a.Ask(ctx, m, req)
	}
	for attempt := 0; ; attempt++ {
		sent := a.cfg.Pacer.probeSend(ctx, m.Hotkey)
		ex := a.Ask(probeContext(ctx), m, req)
		if ex.Result != miners.ResultRejected || ex.Reason != ReasonRateLimited || !a.cfg.Pacer.ownTraffic(m.Hotkey, sent) {
			return ex
		}
		if attempt == ownTrafficRetries {
			ex.OwnTraffic = true
			return ex
		}
	}
}

// Ask sends req to miner m, streaming, and reads the whole answer: the
// first token's arrival is timed from the moment the request left, and the
// stream must end with its signed trailer to count. Failures are classified,
// never returned as errors: an unreachable miner is a fact about the miner.
// A cancelled parent ctx gives Result "" (the validator is shutting down).
func (a *Asker) Ask(parent context.Context, m miners.Miner, req Request) Exchange {
	ctx, cancel := context.WithTimeout(parent, a.cfg.Timeout)
	defer cancel()
	start := time.Now()
	sr, err := a.cfg.Client.Stream(ctx, http.MethodPost, "http://"+m.Address+req.Path, m.Hotkey, req.Body)
	if err != nil {
		return classify(parent, err)
	}
	defer sr.Body.Close()
	if sr.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(sr.Body, 64<<10))
		reason := fmt.Sprintf("http_%d", sr.StatusCode)
		if sr.StatusCode == http.StatusTooManyRequests {
			reason = ReasonRateLimited
		}
		return Exchange{Result: miners.ResultRejected, Reason: reason, Detail: api.DecodeError(raw).Message}
	}
	var ans miners.Answer
	var timing Timing
	var failed *Exchange
	if strings.HasPrefix(sr.Header.Get("Content-Type"), "text/event-stream") {
		timing, failed = readEvents(parent, sr.Body, start, &ans)
	} else {
		timing, failed = readWhole(parent, sr.Body, start, &ans)
	}
	if failed != nil {
		return *failed
	}
	parts, err := ans.Parts(req.TopLogprobs > 0)
	if err != nil {
		return Exchange{Result: miners.ResultInvalid, Reason: "malformed", Detail: err.Error()}
	}
	return Exchange{Parts: parts, Result: miners.ResultOK, Timing: timing}
}

// readWhole reads an answer that came in one piece (a miner that does not
// stream): its first token is timed with its last.
func readWhole(parent context.Context, body io.Reader, start time.Time, ans *miners.Answer) (Timing, *Exchange) {
	raw, err := io.ReadAll(io.LimitReader(body, transport.DefaultMaxResponseBytes))
	if err != nil {
		ex := classify(parent, err)
		return Timing{}, &ex
	}
	end := time.Since(start)
	if _, err := ans.Add(raw); err != nil {
		return Timing{}, &Exchange{Result: miners.ResultInvalid, Reason: "malformed", Detail: err.Error()}
	}
	return Timing{TTFT: end, Latency: end}, nil
}

// readEvents reads a streamed answer to its end, timing the first content
// and the finish.
func readEvents(parent context.Context, body io.Reader, start time.Time, ans *miners.Answer) (Timing, *Exchange) {
	var ttft, end time.Duration
	events := api.NewEventReader(body, miners.MaxEventBytes)
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			break // the trailer verified
		}
		if err != nil {
			ex := classify(parent, err)
			return Timing{}, &ex
		}
		if ev.Name == "error" {
			return Timing{}, &Exchange{Result: miners.ResultRejected, Reason: "stream_error", Detail: api.DecodeError(ev.Data).Message}
		}
		if ev.Done() {
			if end == 0 {
				end = time.Since(start)
			}
			continue // read on: only EOF proves the stream authentic
		}
		content, err := ans.Add(ev.Data)
		if err != nil {
			return Timing{}, &Exchange{Result: miners.ResultInvalid, Reason: "malformed", Detail: err.Error()}
		}
		if content && ttft == 0 {
			ttft = time.Since(start)
		}
		if ans.Done() && end == 0 {
			end = time.Since(start)
		}
	}
	if end == 0 {
		end = time.Since(start)
	}
	if ttft == 0 {
		ttft = end
	}
	return Timing{TTFT: ttft, Latency: end}, nil
}

// classify names a failed exchange.
func classify(parent context.Context, err error) Exchange {
	if parent.Err() != nil {
		return Exchange{} // our own shutdown, not the miner's fault
	}
	var re *transport.ResponseError
	switch {
	case errors.As(err, &re):
		if re.StatusCode == http.StatusTooManyRequests {
			// Unsigned or not, a 429 is the miner's limiter speaking, not
			// a forged answer.
			return Exchange{Result: miners.ResultRejected, Reason: ReasonRateLimited, Detail: err.Error()}
		}
		if re.Reason == transport.ReasonMissingSignature && re.StatusCode >= 400 {
			// An unsigned rejection of our request (say, forbidden because
			// this validator has no permit yet): the miner is up.
			reason := re.ServerReason
			if reason == "" {
				reason = fmt.Sprintf("http_%d", re.StatusCode)
			}
			return Exchange{Result: miners.ResultRejected, Reason: reason, Detail: err.Error()}
		}
		return Exchange{Result: miners.ResultInvalid, Reason: string(re.Reason), Detail: err.Error()}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return Exchange{Result: miners.ResultTimeout, Reason: "timeout", Detail: err.Error()}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Exchange{Result: miners.ResultRefused, Reason: "connection_refused", Detail: err.Error()}
	case errors.Is(err, api.ErrEventTooLarge):
		return Exchange{Result: miners.ResultInvalid, Reason: "too_large", Detail: err.Error()}
	}
	return Exchange{Result: miners.ResultUnreachable, Reason: "unreachable", Detail: err.Error()}
}

// ReasonRateLimited is the reason of a 429 from a miner.
const ReasonRateLimited = "rate_limited"

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
