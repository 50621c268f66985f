package gateway

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

const (
	paidKey    = "sk-merit-paid-0123456789abcdef"
	poorKey    = "sk-merit-poor-0123456789abcdef"
	closedKey  = "sk-merit-closed-0123456789abcd"
	elsewhere  = "sk-merit-elsewhere-0123456789a"
	paidPrice  = 1_500_000 // 1.5 umerit per token: costs carry remainders
	paidNetuid = 1
)

// newPaidGateway is a gateway whose meter knows four accounts of subnet 1
// (the gateway's hotkey is "merit1gw"), in front of one real miner.
func newPaidGateway(t *testing.T) (*httptest.Server, *billing.Meter) {
	t.Helper()
	eng, ref := validatortest.TinyReference(t)
	m := validatortest.StartMiner(t, 2, eng)
	l, err := billing.OpenLedger(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	meter := billing.NewMeter(l)
	acct := func(id uint64, key string, balance int64, f func(*paymenttypes.Account)) paymenttypes.Account {
		a := paymenttypes.Account{Id: id, Netuid: paidNetuid, KeyHash: validatortest.KeyHash(key), Balance: sdkmath.NewInt(balance),
			SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt()}
		if f != nil {
			f(&a)
		}
		return a
	}
	meter.SetBook(billing.NewBook([]paymenttypes.Account{
		acct(1, paidKey, 1_000_000, nil),
		acct(2, poorKey, 10, nil),
		acct(3, closedKey, 1_000_000, func(a *paymenttypes.Account) { a.Closing = true }),
		acct(4, elsewhere, 1_000_000, func(a *paymenttypes.Account) { a.AllowedGateways = []string{"merit1other"} }),
	}, paidNetuid, "merit1gw", paidPrice, 0, 10))
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := New(Config{Meter: meter, Client: c, Timeout: 10 * time.Second,
		Miners: func() []miners.Miner { return []miners.Miner{m} }, Reference: func() *reference.Reference { return ref },
		MaxTokens: func() int { return 16 }, Record: func(miners.Outcome) {}})
	mux := http.NewServeMux()
	mux.Handle("/v1/", g)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, meter
}

func TestPaidGatewayMetersAndReportsCost(t *testing.T) {
	srv, meter := newPaidGateway(t)
	resp, body := validatortest.Post(t, srv.URL+"/v1/chat/completions", paidKey,
		`{"messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":8,"temperature":0}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var cr api.ChatCompletionResponse
	if err := json.Unmarshal(body, &cr); err != nil || cr.Usage == nil {
		t.Fatalf("%v %s", err, body)
	}
	tokens := validatortest.HeaderUint(t, resp.Header, HeaderTokens)
	if want := uint64(cr.Usage.PromptTokens + cr.Usage.CompletionTokens); tokens != want {
		t.Fatalf("billed %d tokens, usage says %d", tokens, want)
	}
	cost := validatortest.HeaderUint(t, resp.Header, HeaderCost)
	if want, _ := billing.Cost(tokens, paidPrice, 0); cost != want {
		t.Fatalf("cost %d, want %d", cost, want)
	}
	if got := validatortest.HeaderUint(t, resp.Header, HeaderBalance); got != 1_000_000-cost {
		t.Fatalf("balance %d after a %d cost", got, cost)
	}
	if resp.Header.Get(HeaderAccount) != "1" || resp.Header.Get(HeaderPrice) != strconv.Itoa(paidPrice) {
		t.Fatalf("headers %v", resp.Header)
	}

	// A stream: cost and tokens arrive as trailers, and add up with the
	// first request's to the chain's rounding of the total.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/completions",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":9,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`))
	req.Header.Set("Authorization", "Bearer "+paidKey)
	sresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.StatusCode != 200 || sresp.Header.Get(HeaderAccount) != "1" {
		t.Fatalf("stream: %d %v", sresp.StatusCode, sresp.Header)
	}
	sc := bufio.NewScanner(sresp.Body)
	chunks := 0
	var merit *MeritUsage
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: {"); ok {
			chunks++
			var c struct {
				Merit *MeritUsage `json:"merit"`
			}
			if err := json.Unmarshal([]byte("{"+data), &c); err == nil && c.Merit != nil {
				merit = c.Merit
			}
		}
	}
	stokens := validatortest.HeaderUint(t, sresp.Trailer, HeaderTokens)
	scost := validatortest.HeaderUint(t, sresp.Trailer, HeaderCost)
	if chunks == 0 || stokens <= 9 {
		t.Fatalf("stream: %d chunks, %d tokens billed", chunks, stokens)
	}
	if merit == nil || merit.Cost != scost || merit.Tokens != stokens || merit.Account != 1 {
		t.Fatalf("the usage chunk must carry the cost for clients that cannot read trailers: %+v", merit)
	}
	total, _ := billing.Cost(tokens+stokens, paidPrice, 0)
	if cost+scost != total {
		t.Fatalf("costs %d + %d; the chain charges %d for %d tokens", cost, scost, total, tokens+stokens)
	}
	u, _ := meter.Ledger().Usage(1)
	if u.Tokens != tokens+stokens || u.Requests != 2 || u.ServedCost != total {
		t.Fatalf("ledger %+v", u)
	}
}

func TestPaidGatewayRefusals(t *testing.T) {
	srv, meter := newPaidGateway(t)
	body := `{"prompt":"Once upon a time","max_tokens":8}`
	for _, c := range []struct {
		key    string
		status int
		code   string
	}{
		{"sk-merit-unknown-0123456789", 401, "invalid_api_key"},
		{closedKey, 401, "invalid_api_key"},
		{elsewhere, 403, "gateway_not_allowed"},
		{poorKey, 402, "insufficient_quota"},
	} {
		resp, b := validatortest.Post(t, srv.URL+"/v1/completions", c.key, body)
		var er api.ErrorResponse
		_ = json.Unmarshal(b, &er)
		var code string
		_ = json.Unmarshal(er.Error.Code, &code)
		if resp.StatusCode != c.status || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.key, resp.StatusCode, b, c.status, c.code)
		}
		if c.status == 402 && (!strings.Contains(er.Error.Message, "balance leaves 10 umerit") || !strings.Contains(er.Error.Message, "1500000 umerit per million")) {
			t.Errorf("402 must name the balance and the price: %s", er.Error.Message)
		}
	}
	// A request small enough for the poor account is served; afterwards
	// nothing is held and the account was never served beyond its balance.
	resp, b := validatortest.Post(t, srv.URL+"/v1/completions", poorKey, `{"prompt":"Hi","max_tokens":1}`)
	if resp.StatusCode != 200 {
		t.Fatalf("small request: %d %s", resp.StatusCode, b)
	}
	u, _ := meter.Ledger().Usage(2)
	if u.ServedCost > 10 {
		t.Fatalf("served %d umerit on a 10 umerit balance", u.ServedCost)
	}
	if u, _ := meter.Ledger().Usage(4); u.Requests != 0 {
		t.Fatal("a refused account must not be metered")
	}
}

// TestCountTokens: the fast count of a compact answer agrees with decoding
// it, and odd answers fall back to decoding.
func TestCountTokens(t *testing.T) {
	for _, c := range []struct {
		body        string
		prompt, out uint64
	}{
		{`{"choices":[{"index":0,"text":"x","prompt_token_ids":[1,2,3],"token_ids":[7,8]}]}`, 3, 2},
		{`{"choices":[{"index":0,"token_ids":[7,8,9,10],"prompt_token_ids":[1]}]}`, 1, 4},
		{`{"choices":[{"index":0, "prompt_token_ids": [1, 2], "token_ids": [5]}]}`, 2, 1},                                        // spaced: decoded
		{`{"choices":[{"index":0,"text":"\"token_ids\":[1,2,3,4,5]"}],"usage":{"prompt_tokens":4,"completion_tokens":6}}`, 4, 6}, // in a string: usage
		{`{"choices":[{"index":0,"prompt_token_ids":[],"token_ids":[]}]}`, 0, 0},
		{`not json`, 0, 0},
	} {
		if p, o := countTokens([]byte(c.body)); p != c.prompt || o != c.out {
			t.Errorf("%s: %d + %d, want %d + %d", c.body, p, o, c.prompt, c.out)
		}
	}
}
