package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/validator/gateway"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// startLimitedMiner is a real miner whose access control admits only
// caller, at rate requests per second (burst one).
func startLimitedMiner(t *testing.T, uid uint16, e inference.Engine, caller string, rate float64) miners.Miner {
	t.Helper()
	id := validatortest.NewIdentity(t, "miner")
	acc, err := miner.NewAccess(miner.AccessConfig{Allow: []string{caller}, RateLimit: rate})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := miner.NewServer(miner.ServerConfig{Engine: e, Signer: id, Authorize: acc.Authorize, MaxTokens: func() int { return 24 }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return miners.Miner{UID: uid, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://"), ModelID: e.Info().ID}
}

// TestGatewayRateLimitedMiners: a miner's 429 is rate_limited (probe and
// gateway), costs no fallback attempt, so a miner with capacity behind
// three saturated ones still answers; when all are saturated the user gets
// 429 with Retry-After in OpenAI's shape, not 502.
func TestGatewayRateLimitedMiners(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	val := validatortest.NewIdentity(t, "val")
	c, err := transport.NewClient(val, nil)
	if err != nil {
		t.Fatal(err)
	}
	var busy []miners.Miner
	for uid := range uint16(3) {
		busy = append(busy, startLimitedMiner(t, uid+1, eng, val.Address(), 0.001))
	}
	free := startLimitedMiner(t, 9, eng, val.Address(), 0)
	// Use up each busy miner's single token.
	a := NewAsker(AskerConfig{Client: c, Timeout: 10 * time.Second})
	gen := NewPromptGenerator(1)
	for _, m := range busy {
		req, err := NewProbeRequest(gen.Prompt(1, m.UID, 0), ref.ModelID, 4)
		if err != nil {
			t.Fatal(err)
		}
		if ex := a.Ask(context.Background(), m, req); ex.Result != miners.ResultOK {
			t.Fatalf("first probe of %d: %+v", m.UID, ex)
		}
		if ex := a.Ask(context.Background(), m, req); ex.Result != miners.ResultRejected || ex.Reason != ReasonRateLimited {
			t.Fatalf("second probe of %d: want rejected/rate_limited, got %s/%s (%s)", m.UID, ex.Result, ex.Reason, ex.Detail)
		}
	}
	keys, err := gateway.LoadAPIKeys(validatortest.KeysFile(t, "alice "+testKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	newGW := func(candidates []miners.Miner) *httptest.Server {
		g := gateway.New(gateway.Config{Keys: keys, Client: c, Timeout: 10 * time.Second,
			Miners: func() []miners.Miner { return candidates }, Reference: func() *reference.Reference { return ref },
			MaxTokens: func() int { return 16 }, Record: func(miners.Outcome) {}})
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		return srv
	}
	body := `{"prompt":"Once upon a time","max_tokens":4,"temperature":0}`
	resp, b := validatortest.Post(t, newGW(append(append([]miners.Miner{}, busy...), free)).URL+"/v1/completions", testKey, body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Merit-Miner-Uid") != "9" {
		t.Fatalf("three saturated miners before a free one: %d uid %q %s", resp.StatusCode, resp.Header.Get("X-Merit-Miner-Uid"), b)
	}
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"prompt":"Once upon a time","max_tokens":4,"stream":%v}`, stream)
		resp, b := validatortest.Post(t, newGW(busy).URL+"/v1/completions", testKey, body)
		var e api.ErrorResponse
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || string(e.Error.Code) != `"rate_limit_exceeded"` ||
			e.Error.Type != "rate_limit_error" {
			t.Fatalf("stream=%v, every miner saturated: %d Retry-After %q %s", stream, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
}
