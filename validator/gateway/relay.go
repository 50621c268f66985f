package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/miners"
)

// try sends the request to one miner. It reports done when a response
// (success or the user's own error) was written; otherwise nothing was
// written and the next miner may be tried, and rateLimited says whether
// the miner refused with 429 (busy, or this validator over its limit).
func (g *Gateway) try(ctx context.Context, w http.ResponseWriter, m miners.Miner, req *gatewayRequest, user string, ticket *billing.Ticket, upstream *time.Duration) (done bool, errText string, rateLimited bool) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	url := "http://" + m.Address + req.path
	if !req.stream {
		return g.tryWhole(ctx, w, m, url, req, ticket, upstream)
	}
	return g.tryStream(ctx, w, m, url, req, user, ticket, upstream)
}

// tryWhole relays a request answered in one piece.
func (g *Gateway) tryWhole(ctx context.Context, w http.ResponseWriter, m miners.Miner, url string, req *gatewayRequest, ticket *billing.Ticket, upstream *time.Duration) (done bool, errText string, rateLimited bool) {
	t0 := time.Now()
	resp, err := g.cfg.Client.Do(ctx, http.MethodPost, url, m.Hotkey, req.body)
	*upstream += time.Since(t0)
	if err != nil {
		return false, err.Error(), isRateLimited(err)
	}
	if retryable(resp.StatusCode) {
		e := api.DecodeError(resp.Body)
		return false, fmt.Sprintf("status %d: %s", resp.StatusCode, e.Message), minerBusy(resp.StatusCode, e)
	}
	minerHeaders(w, m)
	if resp.StatusCode/100 == 2 {
		// Metered and written down before the user has the answer.
		prompt, completion := countTokens(resp.Body)
		g.meter(w.Header(), ticket, req, prompt, completion)
	}
	g.armWrite(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body)
	if resp.StatusCode/100 == 2 {
		g.count("ok")
		// Reading the whole answer (logprobs and all) is the costly
		// part: only for the answers drawn for a check.
		var ans miners.Answer
		if g.wantSpotCheck() {
			if _, err := ans.Add(resp.Body); err == nil {
				g.spotCheck(m, req, &ans)
			}
		}
	} else {
		g.count("bad_request")
	}
	return true, "", false
}

// tryStream relays a streamed request: the miner's events as they come,
// or its whole answer when it does not stream (an error, say).
func (g *Gateway) tryStream(ctx context.Context, w http.ResponseWriter, m miners.Miner, url string, req *gatewayRequest, user string, ticket *billing.Ticket, upstream *time.Duration) (done bool, errText string, rateLimited bool) {
	t0 := time.Now()
	sr, err := g.cfg.Client.Stream(ctx, http.MethodPost, url, m.Hotkey, req.body)
	// A stream's relay is paced by the miner: all of it counts as upstream.
	defer func() { *upstream += time.Since(t0) }()
	if err != nil {
		return false, err.Error(), isRateLimited(err)
	}
	defer sr.Body.Close()
	if retryable(sr.StatusCode) {
		raw, _ := io.ReadAll(io.LimitReader(sr.Body, 64<<10))
		e := api.DecodeError(raw)
		return false, fmt.Sprintf("status %d: %s", sr.StatusCode, e.Message), minerBusy(sr.StatusCode, e)
	}
	minerHeaders(w, m)
	if sr.StatusCode/100 != 2 || !strings.HasPrefix(sr.Header.Get("Content-Type"), "text/event-stream") {
		raw, err := io.ReadAll(io.LimitReader(sr.Body, transport.DefaultMaxResponseBytes))
		if err != nil {
			return false, err.Error(), false
		}
		if sr.StatusCode/100 == 2 {
			prompt, completion := countTokens(raw)
			g.meter(w.Header(), ticket, req, prompt, completion)
		}
		g.armWrite(w)
		w.Header().Set("Content-Type", sr.Header.Get("Content-Type"))
		w.WriteHeader(sr.StatusCode)
		_, _ = w.Write(raw)
		g.count(map[bool]string{true: "ok", false: "bad_request"}[sr.StatusCode/100 == 2])
		return true, "", false
	}
	g.relayEvents(w, m, sr.Body, req, user, ticket)
	return true, "", false
}

// relayEvents passes a miner's event stream on to the user, metering it
// and drawing it for a spot check.
func (g *Gateway) relayEvents(w http.ResponseWriter, m miners.Miner, body io.Reader, req *gatewayRequest, user string, ticket *billing.Ticket) {
	streamHeaders(w.Header(), ticket)
	g.armWrite(w)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var ans miners.Answer
	// A stream that ends early is billed for what it carried.
	bill := &streamBill{g: g, h: w.Header(), ticket: ticket, req: req, ans: &ans}
	defer bill.meter()
	events := api.NewEventReader(body, miners.MaxEventBytes)
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Headers are out: the user sees a cut stream; the miner is
			// cooled down and the cause logged.
			g.cool(m.Hotkey)
			g.count("upstream_error")
			g.cfg.Log.Warn("gateway: stream from miner broke", zap.Uint16("uid", m.UID), zap.Error(err))
			return
		}
		g.armWrite(w)
		writeEvent(w, ev, bill)
		if flusher != nil {
			flusher.Flush()
		}
	}
	bill.meter()
	g.count("ok")
	g.cfg.Log.Debug("gateway: streamed", zap.String("user", user), zap.Uint16("uid", m.UID))
	if g.wantSpotCheck() {
		g.spotCheck(m, req, &ans)
	}
}

// writeEvent relays one event, adding what the stream cost where the user
// can read it.
func writeEvent(w io.Writer, ev api.Event, bill *streamBill) {
	switch {
	case ev.Name == "error":
		fmt.Fprintf(w, "event: error\ndata: %s\n\n", ev.Data)
	case ev.Done():
		// Written down before the user sees the end.
		if r := bill.meter(); r != nil {
			// For readers of the raw stream (curl); clients skip comments.
			fmt.Fprintf(w, ": merit account=%d tokens=%d cost=%d balance=%d\n\n", r.Account, r.Tokens, r.Cost, r.Balance)
		}
		fmt.Fprintf(w, "data: %s\n\n", ev.Data)
	default:
		_, _ = bill.ans.Add(ev.Data)
		data := ev.Data
		if bill.ticket != nil && isUsageChunk(data) {
			// The usage chunk the user asked for (stream_options.
			// include_usage) is the last before [DONE]: it carries
			// the cost, which stock clients cannot read from trailers.
			data = withMeritUsage(data, bill.meter())
		}
		fmt.Fprintf(w, "data: %s\n\n", data)
	}
}

// streamBill meters a stream once: at its usage chunk, at its end, or
// where it broke off, for the tokens it carried by then.
type streamBill struct {
	g       *Gateway
	h       http.Header
	ticket  *billing.Ticket
	req     *gatewayRequest
	ans     *miners.Answer
	metered bool
	receipt *billing.Receipt
}

// meter bills the stream the first time; it returns the receipt (nil for
// a free key).
func (b *streamBill) meter() *billing.Receipt {
	if !b.metered {
		b.metered = true
		prompt, completion := b.ans.Tokens()
		b.receipt = b.g.meter(b.h, b.ticket, b.req, prompt, completion)
	}
	return b.receipt
}

// streamHeaders are an event stream's; a paid one's cost is known only at
// its end: it follows the body as trailers.
func streamHeaders(h http.Header, ticket *billing.Ticket) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	if ticket != nil {
		h.Set("Trailer", strings.Join([]string{HeaderTokens, HeaderCost, HeaderBalance}, ", "))
		paidHeaders(h, ticket.Account, ticket.Price)
		h.Set(HeaderBalance, strconv.FormatUint(ticket.Available, 10))
	}
}

// armWrite gives the next write to the user WriteTimeout: a stream lives
// as long as it makes progress, a client that stops reading is dropped.
// (A ResponseWriter without deadlines, as in tests, is left alone.)
func (g *Gateway) armWrite(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
}

// retryable statuses are the miner's problem, not the user's: another miner
// may well answer.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusTooManyRequests || status == http.StatusNotFound
}

// minerBusy says a refusal means "full, come back", not "broken": a 429,
// or a 503 whose error type is server_busy (merit-miner's full queue).
func minerBusy(status int, e api.ErrorBody) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && e.Type == "server_busy"
}

func minerHeaders(w http.ResponseWriter, m miners.Miner) {
	w.Header().Set("X-Merit-Miner-Uid", strconv.Itoa(int(m.UID)))
	w.Header().Set("X-Merit-Miner-Hotkey", m.Hotkey)
}

// isRateLimited reports whether err is a miner's 429.
func isRateLimited(err error) bool {
	var re *transport.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusTooManyRequests
}
