package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/topology"
	paymentcli "github.com/meritnet/merit/x/payment/client/cli"
)

// Paid inference end to end: users of the official OpenAI Go SDK pay per
// token at the validators' gateways, the gateways settle on chain, and the
// revenue reaches the miners through Yuma — every umerit accounted for.
var _ = Describe("paid inference", Ordered, func() {
	const (
		million    = 1_000_000
		eventUsage = "merit.payment.v1.EventUsageCharged"
		eventPaid  = "merit.emission.v1.EventEpochPaid"
		eventRefnd = "merit.payment.v1.EventAccountRefunded"
		// closeGrace outlasts a gateway's settlement interval (10 blocks):
		// what it served before the close is settled in time.
		closeGrace = int64(20)
	)
	var (
		top       *topology.Topology
		params    topology.PaymentParams
		price     int64
		v0, v1    *topology.Proc
		ctx       = context.Background()
		prompts   = []string{"Once upon a time, there was a little cat who", "Tell me a story about a red ball.", "The dog was sad because", "Lily and Tom went to the park. They"}
		closing   topology.PaidAccount // closed in one spec, refunded in the last
		closeAt   int64
		closeSums [2]tally // per gateway: v0, v1
		// sinceHeight is before any account was opened.
		sinceHeight int64
		// busy counts the 429s waited out.
		busy atomic.Int64
	)

	// ask sends one request and, like any client, waits out a 429 (every
	// miner's budget for this validator spent), which must not be billed.
	ask := func(u *topology.User, prompt string, stream bool) topology.Result {
		GinkgoHelper()
		for try := 0; ; try++ {
			res := u.Request(ctx, prompt, stream)
			if res.Status != http.StatusTooManyRequests || try == 30 {
				return res
			}
			Expect(res.Billing.Cost).To(Equal(int64(-1)), "a 429 carried a cost")
			busy.Add(1)
			time.Sleep(time.Second)
		}
	}

	// served runs n requests (every other one streamed) and tallies them
	// into t; each must be served and billed, the balance header counting
	// down from the deposit by all t holds, exactly.
	served := func(u *topology.User, n int, deposit int64, t *tally) {
		GinkgoHelper()
		for i := 0; i < n; i++ {
			res := ask(u, prompts[i%len(prompts)], i%2 == 1)
			Expect(res.Err).NotTo(HaveOccurred(), "request %d (stream %v)", i, res.Stream)
			Expect(res.Status).To(Equal(http.StatusOK))
			t.add(res)
			Expect(res.Billing.Balance).To(Equal(deposit-t.cost), "X-Merit-Balance after request %d", i)
		}
	}

	// settledTo waits until the chain's record of gateway for acct holds the tallied counters.
	settledTo := func(gateway string, acct topology.PaidAccount, t tally) topology.Settlement {
		GinkgoHelper()
		var rec topology.Settlement
		Eventually(func(g Gomega) {
			var found bool
			var err error
			rec, found, err = top.Settlement(gateway, acct.ID, 0)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(found).To(BeTrue(), "no settlement yet")
			g.Expect(rec.Tokens).To(Equal(t.tokens), "settled tokens")
			g.Expect(rec.Requests).To(Equal(t.requests), "settled requests")
		}, 90*time.Second, 300*time.Millisecond).Should(Succeed(), "%s never settled account %d", gateway, acct.ID)
		return rec
	}

	balance := func(acct topology.PaidAccount) int64 {
		GinkgoHelper()
		st, err := top.Account(acct.ID, 0)
		Expect(err).NotTo(HaveOccurred())
		return st.Balance
	}

	height := func() int64 {
		GinkgoHelper()
		h, err := top.Chain.Height()
		Expect(err).NotTo(HaveOccurred())
		return h
	}

	newUser := func(v *topology.Proc, acct topology.PaidAccount) *topology.User {
		return topology.NewUser(topology.UserConfig{BaseURL: top.GatewayURL(v), APIKey: acct.APIKey})
	}

	// open opens an account of the user's and waits until both gateways
	// know its key.
	open := func(deposit int64) topology.PaidAccount {
		GinkgoHelper()
		acct, err := top.OpenAccount("user", deposit)
		Expect(err).NotTo(HaveOccurred())
		Expect(top.WaitKeyKnown(acct, 30*time.Second, v0, v1)).To(Succeed())
		return acct
	}

	// untilServed retries a request while the (re)started gateway is not
	// ready (503): nothing is billed until it serves.
	untilServed := func(u *topology.User, t *tally, start int64) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			res := u.Request(ctx, prompts[0], false)
			g.Expect(res.Status).To(Equal(http.StatusOK), "%v", res.Err)
			t.add(res)
			g.Expect(res.Billing.Balance).To(Equal(start - t.cost))
		}, 60*time.Second, 500*time.Millisecond).Should(Succeed())
	}

	BeforeAll(func() {
		logs := GinkgoT().TempDir()
		if dir := os.Getenv("E2E_LOGS"); dir != "" {
			// A gateway's usage ledger must not outlive its chain.
			logs = filepath.Join(dir, "payment")
			Expect(os.RemoveAll(logs)).To(Succeed())
		}
		top = topology.Start(GinkgoT(), topology.Config{LogDir: logs, MaxUIDs: 6, Tempo: 20}, func(s string) {
			fmt.Fprintln(GinkgoWriter, s)
		})
		v0, v1 = top.Validators[0], top.Validators[1]
		var err error
		params, err = top.PaymentParams()
		Expect(err).NotTo(HaveOccurred())
		price = topology.DemoPrice
		// Both gateways announce themselves on chain at start.
		Eventually(top.Gateways, 60*time.Second, 500*time.Millisecond).Should(And(
			HaveKeyWithValue(top.Addr[v0.Hotkey], top.GatewayURL(v0)),
			HaveKeyWithValue(top.Addr[v1.Hotkey], top.GatewayURL(v1))))
		sinceHeight = height() // no account exists yet: every charge comes after
		// The default grace period (100 blocks) would keep the suite waiting
		// for the closed account's refund; governance shortens it while the
		// first specs run.
		Expect(params.CloseGraceBlocks).To(BeNumerically(">", closeGrace))
		proposePaymentParams(top, map[string]any{"close_grace_blocks": strconv.FormatInt(closeGrace, 10)})
	})

	AfterAll(func() {
		fmt.Fprintf(GinkgoWriter, "429 (every miner busy) waited out %d times\n", busy.Load())
	})

	var payer topology.PaidAccount
	var payerSum tally
	var payerDeposit int64 = 1000 * million

	It("serves a user of the official OpenAI Go SDK, streamed and not, with the cost in headers and trailers", func() {
		payer = open(payerDeposit)
		u := newUser(v0, payer)
		untilServed(u, &payerSum, payerDeposit)
		served(u, 6, payerDeposit, &payerSum)
		Expect(payerSum.streams).To(BeNumerically(">=", 3))
		for _, r := range payerSum.results {
			b := r.Billing
			Expect(b.Account).To(Equal(strconv.FormatUint(payer.ID, 10)))
			Expect(b.Price).To(Equal(price))
			Expect(r.CompletionTokens).To(BeNumerically(">", 0))
			Expect(b.Tokens).To(Equal(r.PromptTokens+r.CompletionTokens), "billed = the answer's usage (stream %v)", r.Stream)
			// 10^10 umerit per million tokens is 10^4 a token: no remainder.
			Expect(b.Cost).To(Equal(b.Tokens*price/million), "cost (stream %v)", r.Stream)
		}

		// A stock client stops at [DONE] and never sees trailers: the
		// stream's usage chunk carries the cost as a "merit" object too.
		// (It keeps the SDK's retries: a 429 is never billed.)
		client := openai.NewClient(option.WithBaseURL(top.GatewayURL(v0)), option.WithAPIKey(payer.APIKey))
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "merit-tiny",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompts[2])},
			MaxTokens:     openai.Int(24),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var merit struct {
			Account                      uint64
			Tokens, Cost, Balance, Price int64
		}
		var usage openai.CompletionUsage
		for stream.Next() {
			c := stream.Current()
			if f, ok := c.JSON.ExtraFields["merit"]; ok {
				Expect(json.Unmarshal([]byte(f.Raw()), &merit)).To(Succeed(), f.Raw())
				usage = c.Usage
			}
		}
		Expect(stream.Err()).NotTo(HaveOccurred())
		Expect(stream.Close()).To(Succeed())
		Expect(merit.Account).To(Equal(payer.ID), "no merit object in the stream's usage chunk")
		Expect(merit.Price).To(Equal(price))
		Expect(merit.Tokens).To(Equal(usage.PromptTokens + usage.CompletionTokens))
		Expect(merit.Cost).To(Equal(merit.Tokens * price / million))
		payerSum.add(topology.Result{Stream: true, Status: http.StatusOK, Billing: topology.Billing{Tokens: merit.Tokens, Cost: merit.Cost}})
		Expect(merit.Balance).To(Equal(payerDeposit - payerSum.cost))
	})

	It("refuses a user who runs out with 402 insufficient_quota, never serving beyond the balance", func() {
		deposit := params.MinDeposit
		acct := open(deposit)
		u := newUser(v0, acct)
		var t tally
		var refused topology.Result
		var refusedPrompt string
		for i := 0; i < 30 && refused.Status == 0; i++ {
			res := ask(u, prompts[i%len(prompts)], i%2 == 1)
			if res.Status == http.StatusPaymentRequired {
				refused, refusedPrompt = res, prompts[i%len(prompts)]
				break
			}
			Expect(res.Status).To(Equal(http.StatusOK), "%v", res.Err)
			t.add(res)
			Expect(res.Billing.Balance).To(Equal(deposit - t.cost))
			Expect(t.cost).To(BeNumerically("<=", deposit))
		}
		Expect(t.requests).To(BeNumerically(">", 0), "served nothing before running out")
		Expect(refused.Status).To(Equal(http.StatusPaymentRequired), "never refused")
		Expect(refused.Code).To(Equal("insufficient_quota"))
		var apiErr *openai.Error
		Expect(errors.As(refused.Err, &apiErr)).To(BeTrue())
		Expect(apiErr.Message).To(ContainSubstring(fmt.Sprintf("balance leaves %d umerit", deposit-t.cost)))
		Expect(apiErr.Message).To(ContainSubstring(fmt.Sprint(price)))
		Expect(apiErr.Response.Header.Get("X-Merit-Balance")).To(Equal(strconv.FormatInt(deposit-t.cost, 10)))
		// Refused only because what is left cannot cover this request at its largest.
		need := regexp.MustCompile(`may cost up to (\d+) umerit`).FindStringSubmatch(apiErr.Message)
		Expect(need).To(HaveLen(2), apiErr.Message)
		Expect(strconv.ParseInt(need[1], 10, 64)).To(BeNumerically(">", deposit-t.cost))

		// Settled, the chain charged what was served, with no shortfall; and
		// the gateway, now reading that balance, still refuses the request
		// (a shorter prompt might still fit).
		rec := settledTo(v0.Hotkey, acct, t)
		Expect(rec.Charged).To(Equal(t.cost))
		Expect(rec.Shortfall).To(BeZero())
		Expect(balance(acct)).To(Equal(deposit - t.cost))
		for _, stream := range []bool{false, true} {
			res := ask(u, refusedPrompt, stream)
			Expect(res.Status).To(Equal(http.StatusPaymentRequired), "stream %v", stream)
			Expect(res.Code).To(Equal("insufficient_quota"))
		}

		// Topped up as the error says, the same key is served again within a block or two.
		topUp := params.MinDeposit
		Expect(top.TryTx("payment", "deposit", strconv.FormatUint(acct.ID, 10), fmt.Sprintf("%dumerit", topUp), "--from", "user")).To(Succeed())
		Eventually(func() int {
			res := ask(u, prompts[2], false)
			if res.Status == http.StatusOK {
				t.add(res)
				Expect(res.Billing.Balance).To(Equal(deposit + topUp - t.cost))
			}
			return res.Status
		}, 10*time.Second, 100*time.Millisecond).Should(Equal(http.StatusOK))
		settledTo(v0.Hotkey, acct, t)
		Expect(balance(acct)).To(Equal(deposit + topUp - t.cost))
	})

	It("settles usage once across a kill -9 between serving and settling, and again right after settling", func() {
		deposit := int64(100 * million)
		acct := open(deposit)
		v := v1
		// Restart the gateway so it does not settle on its own: what it
		// serves stays unsettled until the crash.
		top.StopProc(v, false)
		top.SetValidatorFlags(v, "--settle-every", "1000000", "--settle-threshold", "1000000000000000")
		top.StartProc(v)
		top.WaitServing(v, 60*time.Second)
		u := newUser(v, acct)
		var t tally
		untilServed(u, &t, deposit)
		served(u, 3, deposit, &t)
		_, found, err := top.Settlement(v.Hotkey, acct.ID, 0)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeFalse(), "settled before the crash")

		top.StopProc(v, true) // kill -9
		ledger := usageReport(top, v)
		Expect(ledger.Totals.Tokens).To(BeNumerically(">=", t.tokens))
		for _, a := range ledger.Accounts {
			if a.Account == acct.ID {
				Expect(a.Tokens).To(Equal(uint64(t.tokens)), "served tokens in the ledger after kill -9")
				Expect(a.Requests).To(Equal(uint64(t.requests)))
				Expect(a.Settled.Tokens).To(BeZero())
			}
		}

		// Back on the same home with the usual flags: it settles at once ...
		top.SetValidatorFlags(v)
		top.StartProc(v)
		rec := settledTo(v.Hotkey, acct, t)
		// ... and, killed again the moment the chain has it (before it
		// may have written the result down), never settles it twice.
		top.StopProc(v, true)
		top.StartProc(v)
		top.WaitServing(v, 60*time.Second)
		Eventually(func(g Gomega) {
			r := usageReport(top, v)
			for _, a := range r.Accounts {
				if a.Account == acct.ID {
					g.Expect(a.Settled.Tokens).To(Equal(uint64(t.tokens)))
					g.Expect(a.Settled.Charged).To(Equal(uint64(t.cost)))
				}
			}
		}, 30*time.Second, 500*time.Millisecond).Should(Succeed(), "the restarted gateway did not learn its settlement")
		top.Chain.WaitHeight(height()+12, 30*time.Second) // more than a settlement interval
		again, _, err := top.Settlement(v.Hotkey, acct.ID, 0)
		Expect(err).NotTo(HaveOccurred())
		Expect([]int64{again.Tokens, again.Requests, again.Charged, again.Shortfall}).To(Equal([]int64{rec.Tokens, rec.Requests, rec.Charged, rec.Shortfall}))
		if again.UpdatedAt != rec.UpdatedAt {
			fmt.Fprintf(GinkgoWriter, "the restarted gateway re-sent settled counters at block %d (charged nothing)\n", again.UpdatedAt)
		}
		Expect(rec.Charged).To(Equal(t.cost))
		Expect(balance(acct)).To(Equal(deposit - t.cost))
		evs, err := top.EventsOf(eventUsage, rec.UpdatedAt-1, height())
		Expect(err).NotTo(HaveOccurred())
		var charged int64
		for _, e := range evs {
			if e.Attrs["account_id"] == strconv.FormatUint(acct.ID, 10) {
				charged += e.Int("charged")
			}
		}
		Expect(charged).To(Equal(t.cost))
	})

	// Closed once the short grace period asked for at the start applies.
	It("refuses a closed account's key at once", func() {
		deposit := int64(5 * million)
		Eventually(func() int64 {
			p, _ := top.PaymentParams()
			return p.CloseGraceBlocks
		}, time.Minute, 250*time.Millisecond).Should(Equal(closeGrace), "the governance proposal did not pass")
		closing = open(deposit)
		users := []*topology.User{newUser(v0, closing), newUser(v1, closing)}
		served(users[0], 2, deposit, &closeSums[0])
		Expect(top.TryTx("payment", "close-account", strconv.FormatUint(closing.ID, 10), "--from", "user")).To(Succeed())
		closedAt := time.Now()
		var err error
		closeAt, err = top.CloseAt(closing.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(closeAt).To(BeNumerically(">", height()))
		Expect(closeAt).To(BeNumerically("<=", height()+closeGrace))
		for i, u := range users {
			// A gateway learns of the close from the chain within a block or two;
			// whatever it served until then is billed like any request.
			Eventually(func() int {
				res := ask(u, prompts[0], false)
				if res.Status == http.StatusOK {
					closeSums[i].add(res)
				}
				return res.Status
			}, 10*time.Second, 100*time.Millisecond).Should(Equal(http.StatusUnauthorized))
			for n := 0; n < 2; n++ {
				res := ask(u, prompts[1], n == 1)
				Expect(res.Status).To(Equal(http.StatusUnauthorized))
				Expect(res.Code).To(Equal("invalid_api_key"))
			}
		}
		fmt.Fprintf(GinkgoWriter, "closed account refused by both gateways %s after close-account returned; served meanwhile: %d and %d requests\n",
			time.Since(closedAt).Round(time.Millisecond), closeSums[0].requests-2, closeSums[1].requests)
	})

	It("never charges an account more than its balance when two gateways serve it", func() {
		deposit := 2 * params.MinDeposit
		acct := open(deposit)
		gws := []*topology.Proc{v0, v1}
		sums := make([]tally, len(gws))
		var wg sync.WaitGroup
		for i, v := range gws {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				u := newUser(v, acct)
				refused := 0
				for n := 0; n < 20 && refused < 2; n++ {
					res := ask(u, prompts[n%len(prompts)], n%2 == 1)
					switch res.Status {
					case http.StatusOK:
						sums[i].add(res)
						Expect(sums[i].cost).To(BeNumerically("<=", deposit), "one gateway alone served beyond the balance")
					case http.StatusPaymentRequired:
						refused++
					default:
						Fail(fmt.Sprintf("%s: status %d: %v", v.Name, res.Status, res.Err))
					}
				}
				Expect(refused).To(Equal(2), "%s never refused", v.Name)
			}()
		}
		wg.Wait()
		served := sums[0].cost + sums[1].cost
		var charged, shortfall int64
		for i, v := range gws {
			if sums[i].requests == 0 {
				continue
			}
			rec := settledTo(v.Hotkey, acct, sums[i])
			charged += rec.Charged
			shortfall += rec.Shortfall
		}
		fmt.Fprintf(GinkgoWriter, "two gateways served %d + %d umerit of a %d deposit; charged %d, shortfall %d\n",
			sums[0].cost, sums[1].cost, deposit, charged, shortfall)
		Expect(charged).To(Equal(min(served, deposit)))
		Expect(shortfall).To(Equal(served - charged))
		Expect(balance(acct)).To(Equal(deposit - charged))
	})

	It("follows a rotated key and an allowed-gateways list within a block or two", func() {
		// Room for every request served until a gateway sees a change (a
		// few per block on a slow machine): a 402 here would be a test
		// artefact, not the behaviour under test.
		deposit := 20 * params.MinDeposit
		acct := open(deposit)
		var sums [2]tally // per gateway: v0, v1
		served(newUser(v0, acct), 1, deposit, &sums[0])

		// The payer rotates to a key it holds: the old one stops, the new one works.
		newKey, _, err := paymentcli.NewAPIKey()
		Expect(err).NotTo(HaveOccurred())
		file := filepath.Join(GinkgoT().TempDir(), "key")
		Expect(os.WriteFile(file, []byte(newKey+"\n"), 0o600)).To(Succeed())
		id := strconv.FormatUint(acct.ID, 10)
		Expect(top.TryTx("payment", "update-account", id, "--key-file", file, "--from", "user")).To(Succeed())
		// (What a gateway serves until it sees the change is billed as usual.)
		untilRefused := func(u *topology.User, t *tally) topology.Result {
			var res topology.Result
			Eventually(func() int {
				if res = ask(u, prompts[0], false); res.Status == http.StatusOK {
					t.add(res)
				}
				return res.Status
			}, 10*time.Second, 100*time.Millisecond).ShouldNot(Equal(http.StatusOK))
			return res
		}
		Expect(untilRefused(newUser(v0, acct), &sums[0]).Status).To(Equal(http.StatusUnauthorized), "the old key")
		rotated := acct
		rotated.APIKey = newKey
		served(newUser(v0, rotated), 1, deposit, &sums[0])

		// Restricted to validator1: validator0 refuses with 403, validator1
		// serves; validator0 still settles what it served (next spec).
		Expect(top.TryTx("payment", "update-account", id, "--gateways", top.Addr[v1.Hotkey], "--from", "user")).To(Succeed())
		u0 := newUser(v0, rotated)
		res := untilRefused(u0, &sums[0])
		Expect(res.Status).To(Equal(http.StatusForbidden))
		Expect(res.Code).To(Equal("gateway_not_allowed"))
		res = ask(u0, prompts[1], true)
		Expect(res.Status).To(Equal(http.StatusForbidden))
		rec0 := settledTo(v0.Hotkey, acct, sums[0])
		Expect(rec0.Charged).To(Equal(sums[0].cost))
		Expect(sums[0].requests).To(Equal(rec0.Requests), "validator0 served after the restriction")
		// validator1 counts down from the chain's balance, which shows
		// validator0's charge by now.
		served(newUser(v1, rotated), 2, deposit-sums[0].cost, &sums[1])
		rec1 := settledTo(v1.Hotkey, acct, sums[1])
		Expect(rec1.Charged).To(Equal(sums[1].cost))
		Expect(balance(acct)).To(Equal(deposit - sums[0].cost - sums[1].cost))
	})

	// A payer who drops a gateway from --gateways right after being served
	// still pays for what it served: the chain lets the removed gateway
	// settle for close_grace_blocks, and the gateway settles at once
	// rather than at its next interval.
	It("lets a gateway settle what it served before the payer removed it from the allowed list", func() {
		deposit := 3 * params.MinDeposit
		acct := open(deposit)
		var t tally
		served(newUser(v0, acct), 1, deposit, &t) // below the settlement threshold
		Expect(top.TryTx("payment", "update-account", strconv.FormatUint(acct.ID, 10), "--gateways", top.Addr[v1.Hotkey], "--from", "user")).To(Succeed())
		rec := settledTo(v0.Hotkey, acct, t)
		Expect(rec.Charged).To(Equal(t.cost))
		Expect(balance(acct)).To(Equal(deposit - t.cost))
	})

	// Runs late: an epoch pays miners only once the validators' weights are
	// on chain, a few epochs after the start.
	It("charges exactly Σ X-Merit-Cost on chain, and the next epoch pays the revenue out through Yuma, fee and burn exact", func() {
		Eventually(func(g Gomega) {
			mg, _, err := top.Metagraph()
			g.Expect(err).NotTo(HaveOccurred())
			var incentive uint32
			for _, n := range mg {
				incentive += n.Incentive
			}
			g.Expect(incentive).To(BeNumerically(">", 0))
		}, 3*time.Minute, time.Second).Should(Succeed(), "no miner has incentive yet")
		served(newUser(v0, payer), 4, payerDeposit, &payerSum)
		rec := settledTo(v0.Hotkey, payer, payerSum)
		Expect(payerSum.cost).To(Equal(payerSum.tokens * price / million))
		Expect(rec.Charged).To(Equal(payerSum.cost))
		Expect(rec.Shortfall).To(BeZero())
		Expect(balance(payer)).To(Equal(payerDeposit - payerSum.cost))

		// Every charge on this chain so far, split to the umerit: fee
		// floored, burn ceiled, the rest to the subnet.
		last := rec.UpdatedAt
		charges, err := top.EventsOf(eventUsage, sinceHeight, last)
		Expect(err).NotTo(HaveOccurred())
		var sum struct{ charged, payerCharged, payerTokens, fee, burn, toSubnet int64 }
		byHeight := map[int64][]topology.Event{}
		for _, e := range charges {
			c := e.Int("charged")
			Expect(e.Int("gateway_fee")).To(Equal(c*params.GatewayFeeBps/10_000), "fee of %v", e.Attrs)
			Expect(e.Int("burned")).To(Equal((c*params.BurnBps+9_999)/10_000), "burn of %v", e.Attrs)
			Expect(e.Int("to_subnet")).To(Equal(c - e.Int("gateway_fee") - e.Int("burned")))
			Expect(e.Int("price")).To(Equal(price))
			if e.Attrs["account_id"] == strconv.FormatUint(payer.ID, 10) {
				sum.payerCharged += c
				sum.payerTokens += e.Int("tokens")
			}
			sum.charged += c
			sum.fee += e.Int("gateway_fee")
			sum.burn += e.Int("burned")
			sum.toSubnet += e.Int("to_subnet")
			byHeight[e.Height] = append(byHeight[e.Height], e)
		}
		Expect(sum.payerCharged).To(Equal(payerSum.cost))
		Expect(sum.payerTokens).To(Equal(payerSum.tokens))
		flows, err := top.Flows(last)
		Expect(err).NotTo(HaveOccurred())
		Expect(flows.Charged).To(Equal(sum.charged))
		Expect(flows.GatewayFees).To(Equal(sum.fee))
		Expect(flows.Burned).To(Equal(sum.burn))
		Expect(flows.ToSubnet).To(Equal(sum.toSubnet))
		Expect(flows.Revenue).To(Equal(sum.toSubnet), "x/emission's revenue")

		// validator0 never restarted: its metrics count all it served, which
		// is all settled by now.
		v0Charges, err := top.EventsOf(eventUsage, sinceHeight, height())
		Expect(err).NotTo(HaveOccurred())
		var v0Tokens int64
		for _, e := range v0Charges {
			if e.Attrs["gateway"] == top.Addr[v0.Hotkey] {
				v0Tokens += e.Int("tokens")
			}
		}
		m := scrapeMetrics(v0)
		Expect(m["merit_validator_billing_tokens_total"]).To(Equal(float64(v0Tokens)))
		Expect(m[`merit_validator_gateway_requests_total{result="payment_required"}`]).To(BeNumerically(">", 0))
		// It followed the accounts block by block from the changes each made,
		// with a full read at the start (and one in a hundred after).
		fmt.Fprintf(GinkgoWriter, "validator0 read the accounts %v times in full, %v by the blocks' changes\n",
			m[`merit_validator_billing_book_reads_total{kind="full"}`], m[`merit_validator_billing_book_reads_total{kind="patch"}`])
		Expect(m[`merit_validator_billing_book_reads_total{kind="patch"}`]).To(BeNumerically(">", 10*m[`merit_validator_billing_book_reads_total{kind="full"}`]))

		// At each settlement block: each fee reached the settling gateway's
		// owner, the burn left the supply, the rest joined the subnet's
		// pending payout.
		owners := map[string]string{top.Addr[v0.Hotkey]: v0.Owner, top.Addr[v1.Hotkey]: v1.Owner}
		feeChecked := 0
		for h, evs := range byHeight {
			var burn, toSubnet int64
			fees := map[string]int64{}
			for _, e := range evs {
				owner, ok := owners[e.Attrs["gateway"]]
				Expect(ok).To(BeTrue(), "charge by an unknown gateway %v", e.Attrs)
				fees[owner] += e.Int("gateway_fee")
				burn, toSubnet = burn+e.Int("burned"), toSubnet+e.Int("to_subnet")
			}
			before, err := top.TotalsAt(h - 1)
			Expect(err).NotTo(HaveOccurred())
			after, err := top.TotalsAt(h)
			Expect(err).NotTo(HaveOccurred())
			Expect(after.Burned-before.Burned).To(Equal(burn), "burned at %d", h)
			Expect(after.Supply-before.Supply).To(Equal(after.Issued-before.Issued-burn), "supply at %d", h)
			f0, err := top.Flows(h - 1)
			Expect(err).NotTo(HaveOccurred())
			f1, err := top.Flows(h)
			Expect(err).NotTo(HaveOccurred())
			Expect(f1.Revenue-f0.Revenue).To(Equal(toSubnet), "revenue at %d", h)
			epochHere, err := top.EventsOf(eventPaid, h, h)
			Expect(err).NotTo(HaveOccurred())
			if len(epochHere) > 0 {
				continue // at an epoch the owners also get their validators' take
			}
			for owner, fee := range fees {
				b0, err := top.BalanceAt(owner, h-1)
				Expect(err).NotTo(HaveOccurred())
				b1, err := top.BalanceAt(owner, h)
				Expect(err).NotTo(HaveOccurred())
				Expect(b1-b0).To(Equal(fee), "gateway fee to %s at %d", owner, h)
				feeChecked++
			}
		}
		Expect(feeChecked).To(BeNumerically(">", 0))

		// The epoch after the last charge pays the pending payout —
		// emission and revenue together — through Yuma. Block by block,
		// from a tempo before that charge: pending grows by the block's
		// subnet emission plus the revenue, and shrinks only by what an
		// epoch paid.
		var epochBlock int64
		var tempo uint64
		Eventually(func() int64 {
			st, _ := top.Epoch()
			epochBlock, tempo = st.LastEpochBlock, st.Tempo
			return epochBlock
		}, 60*time.Second, 250*time.Millisecond).Should(BeNumerically(">=", last))
		secBps, err := top.SecurityShareBps()
		Expect(err).NotTo(HaveOccurred())
		first := last - int64(tempo)
		prev, err := top.Flows(first - 1)
		Expect(err).NotTo(HaveOccurred())
		prevT, err := top.TotalsAt(first - 1)
		Expect(err).NotTo(HaveOccurred())
		var revenueIn, paidAtEpoch int64
		for h := first; h <= epochBlock; h++ {
			cur, err := top.Flows(h)
			Expect(err).NotTo(HaveOccurred())
			curT, err := top.TotalsAt(h)
			Expect(err).NotTo(HaveOccurred())
			minted := curT.Issued - prevT.Issued
			accrued := minted - minted*secBps/10_000
			Expect(cur.Pending+cur.Paid-prev.Paid).To(Equal(prev.Pending+accrued+cur.Revenue-prev.Revenue),
				"x/emission pending at block %d (epoch block %d)", h, epochBlock)
			revenueIn += cur.Revenue - prev.Revenue
			if h == epochBlock {
				paidAtEpoch = cur.Paid - prev.Paid
			}
			prev, prevT = cur, curT
		}
		Expect(revenueIn).To(BeNumerically(">", 0))
		Expect(paidAtEpoch).To(BeNumerically(">", 0))

		// What the epoch paid is exactly the owner cut and the neurons'
		// records, and each miner's owner received its record.
		paidEvs, err := top.EventsOf(eventPaid, epochBlock, epochBlock)
		Expect(err).NotTo(HaveOccurred())
		Expect(paidEvs).To(HaveLen(1))
		ev := paidEvs[0]
		Expect(ev.Int("owner_cut") + ev.Int("miners") + ev.Int("validators_take") + ev.Int("delegators")).To(Equal(paidAtEpoch))
		ownerBefore, err := top.BalanceAt("owner", epochBlock-1)
		Expect(err).NotTo(HaveOccurred())
		ownerAfter, err := top.BalanceAt("owner", epochBlock)
		Expect(err).NotTo(HaveOccurred())
		Expect(ownerAfter - ownerBefore).To(Equal(ev.Int("owner_cut")))
		hist, err := top.EpochHistory(epochBlock)
		Expect(err).NotTo(HaveOccurred())
		var histSum, minersSum int64
		for _, n := range hist {
			histSum += n.Miner + n.Validator
			minersSum += n.Miner
			for _, m := range top.Miners {
				if n.Hotkey == top.Addr[m.Hotkey] {
					b0, err := top.BalanceAt(m.Owner, epochBlock-1)
					Expect(err).NotTo(HaveOccurred())
					b1, err := top.BalanceAt(m.Owner, epochBlock)
					Expect(err).NotTo(HaveOccurred())
					Expect(b1-b0).To(Equal(n.Miner), "%s's owner at epoch block %d", m.Name, epochBlock)
				}
			}
		}
		Expect(histSum + ev.Int("owner_cut")).To(Equal(paidAtEpoch))
		Expect(minersSum).To(Equal(ev.Int("miners")))
		Expect(minersSum).To(BeNumerically(">", 0), "no miner was paid at epoch block %d", epochBlock)
		fmt.Fprintf(GinkgoWriter, "epoch block %d paid %d umerit (%d to miners); %d umerit of revenue arrived in the %d blocks before\n",
			epochBlock, paidAtEpoch, minersSum, revenueIn, epochBlock-first+1)
	})

	It("refunds a closed account after the grace period", func() {
		top.Chain.WaitHeight(closeAt+1, 2*time.Minute)
		var refund topology.Event
		Eventually(func(g Gomega) {
			evs, err := top.EventsOf(eventRefnd, closeAt, height())
			g.Expect(err).NotTo(HaveOccurred())
			found := false
			for _, e := range evs {
				if e.Attrs["account_id"] == strconv.FormatUint(closing.ID, 10) {
					refund, found = e, true
				}
			}
			g.Expect(found).To(BeTrue())
		}, 30*time.Second, 500*time.Millisecond).Should(Succeed(), "account %d not refunded after block %d", closing.ID, closeAt)
		h := refund.Height

		// What was served before the close was settled in the grace period
		// (the records go with the account: read them the block before).
		left := int64(5 * million)
		for i, v := range []*topology.Proc{v0, v1} {
			rec, found, err := top.Settlement(v.Hotkey, closing.ID, h-1)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(Equal(closeSums[i].requests > 0), "%s's record", v.Name)
			Expect(rec.Tokens).To(Equal(closeSums[i].tokens), "%s settled tokens", v.Name)
			Expect(rec.Requests).To(Equal(closeSums[i].requests), "%s settled requests", v.Name)
			Expect(rec.Charged).To(Equal(closeSums[i].cost))
			Expect(rec.UpdatedAt).To(BeNumerically("<=", closeAt))
			left -= rec.Charged
			_, found, err = top.Settlement(v.Hotkey, closing.ID, h)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeFalse(), "%s's record outlived the account", v.Name)
		}
		Expect(refund.Int("amount")).To(Equal(left))
		b0, err := top.BalanceAt("user", h-1)
		Expect(err).NotTo(HaveOccurred())
		b1, err := top.BalanceAt("user", h)
		Expect(err).NotTo(HaveOccurred())
		// The user's own transactions in that block (an account another spec
		// opens, a fee) move its balance too: count them out, so that what is
		// left is the refund, exactly.
		transfers, err := top.EventsOf("transfer", h, h)
		Expect(err).NotTo(HaveOccurred())
		own := int64(0)
		for _, e := range transfers {
			amount, err := strconv.ParseInt(strings.TrimSuffix(e.Attrs["amount"], "umerit"), 10, 64)
			Expect(err).NotTo(HaveOccurred(), "transfer %v", e.Attrs)
			if e.Attrs["sender"] == top.Addr["user"] {
				own -= amount
			}
		}
		Expect(b1-b0-own).To(Equal(left), "refund to the payer at block %d (its own transfers there: %d)", h, own)
		gone, err := top.AccountGone(closing.ID, h)
		Expect(err).NotTo(HaveOccurred())
		Expect(gone).To(BeTrue())
	})

	It("weights emission toward the subnet users pay for: its share rises above what its stake gives", func() {
		// An unpaid subnet beside it, with about as much stake.
		task := fmt.Sprintf(`{"model_name":"merit-tiny","model_sha256":%q,"engine_format":"llama2c","max_tokens":48}`, inference.TinySHA256)
		Expect(top.TryTx("subnet", "create-subnet", "idle", task, "--from", "owner")).To(Succeed())
		Expect(top.TryTx("subnet", "register", "2", top.Addr["user"], "1000000000", "--from", "user")).To(Succeed())
		Expect(top.TryTx("subnet", "add-stake", "2", top.Addr["user"], "1000000000", "--from", "user")).To(Succeed())
		// Users keep paying for subnet 1 meanwhile.
		u := newUser(v0, open(100*million))
		for i := range 4 {
			res := ask(u, prompts[i%len(prompts)], false)
			Expect(res.Status).To(Equal(http.StatusOK))
		}
		type shares struct {
			Subnets []struct {
				Netuid  int    `json:"netuid"`
				BurnEMA string `json:"burn_ema"`
			} `json:"subnets"`
			ShareBps    []int    `json:"share_bps"`
			StakePart   []string `json:"stake_part"`
			RevenuePart []string `json:"revenue_part"`
		}
		var q shares
		num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
		Eventually(func(g Gomega) {
			q = shares{}
			g.Expect(top.Query(&q, "emission", "subnets")).To(Succeed())
			g.Expect(q.Subnets).To(HaveLen(2))
			g.Expect(q.ShareBps).To(HaveLen(2))
			g.Expect(num(q.StakePart[1])).To(BeNumerically(">", 0), "the new subnet's stake EMA")
		}, 60*time.Second, time.Second).Should(Succeed())
		Expect(q.Subnets[0].Netuid).To(Equal(1))
		stake1, stake2 := num(q.StakePart[0]), num(q.StakePart[1])
		rev1, rev2 := num(q.RevenuePart[0]), num(q.RevenuePart[1])
		stakeOnly := stake1 * 10_000 / (stake1 + stake2)
		fmt.Fprintf(GinkgoWriter, "subnet 1 (paid): share %d bps, %d bps by stake alone; revenue part %d, stake part %d umerit per block; subnet 2 (unpaid): share %d bps, revenue part %d\n",
			q.ShareBps[0], stakeOnly, rev1, stake1, q.ShareBps[1], rev2)
		Expect(rev1).To(BeNumerically(">", 0), "the paying subnet earns a revenue part")
		Expect(rev2).To(BeZero(), "the unpaid subnet earns none")
		// Exactly: (stake1+rev1)/(all parts) > stake1/(stake1+stake2); in basis
		// points the gap can round away when the new subnet's stake EMA is young.
		Expect((stake1+rev1)*(stake1+stake2)).To(BeNumerically(">", stake1*(stake1+stake2+rev1+rev2)), "the paying subnet's share is above its stake share")
		Expect(int64(q.ShareBps[0])).To(BeNumerically(">=", stakeOnly))
	})
})

// tally sums a user's served requests.
type tally struct {
	requests, tokens, cost, streams int64
	results                         []topology.Result
}

func (t *tally) add(r topology.Result) {
	t.requests++
	t.tokens += r.Billing.Tokens
	t.cost += r.Billing.Cost
	if r.Stream {
		t.streams++
	}
	t.results = append(t.results, r)
	Expect(r.Billing.Tokens).To(BeNumerically(">", 0), "X-Merit-Tokens (stream %v)", r.Stream)
	Expect(r.Billing.Cost).To(BeNumerically(">", 0), "X-Merit-Cost (stream %v)", r.Stream)
}

// usageLedger is `merit-validator usage -o json`.
type usageLedger struct {
	Accounts []struct {
		Account  uint64 `json:"account"`
		Tokens   uint64 `json:"served_tokens"`
		Requests uint64 `json:"served_requests"`
		Settled  struct {
			Tokens  uint64 `json:"tokens"`
			Charged uint64 `json:"charged_umerit"`
		} `json:"settled"`
	} `json:"accounts"`
	Totals struct {
		Tokens uint64 `json:"served_tokens"`
	} `json:"totals"`
}

func usageReport(top *topology.Topology, v *topology.Proc) usageLedger {
	GinkgoHelper()
	out, err := exec.Command(filepath.Join(top.Cfg.BinDir, "merit-validator"), "usage", "--home", top.Home(v), "-o", "json").Output()
	Expect(err).NotTo(HaveOccurred())
	var r usageLedger
	Expect(json.Unmarshal(out, &r)).To(Succeed(), "%s", out)
	return r
}

// proposePaymentParams submits and votes a governance proposal changing
// x/payment parameters; it passes when the voting period ends.
func proposePaymentParams(top *topology.Topology, edit map[string]any) {
	GinkgoHelper()
	var acct struct {
		Account struct {
			Value struct {
				Address string `json:"address"`
			} `json:"value"`
		} `json:"account"`
	}
	Expect(top.Query(&acct, "auth", "module-account", "gov")).To(Succeed())
	var cur struct {
		Params map[string]any `json:"params"`
	}
	Expect(top.Query(&cur, "payment", "params")).To(Succeed())
	for k, v := range edit {
		cur.Params[k] = v
	}
	proposeAndVote(top, map[string]any{
		"@type": "/merit.payment.v1.MsgUpdateParams", "authority": acct.Account.Value.Address, "params": cur.Params,
	}, "Payment params", "Shorter close grace period for the e2e suite")
}

// proposeAndVote submits a governance proposal with one message, signed by
// the chain's validator key, and votes yes with it (the only validator).
func proposeAndVote(top *topology.Topology, msg map[string]any, title, summary string) {
	GinkgoHelper()
	bz, err := json.Marshal(map[string]any{"messages": []any{msg}, "deposit": "10000000umerit", "title": title, "summary": summary})
	Expect(err).NotTo(HaveOccurred())
	file := filepath.Join(GinkgoT().TempDir(), "proposal.json")
	Expect(os.WriteFile(file, bz, 0o644)).To(Succeed())
	Expect(top.TryTx("gov", "submit-proposal", file, "--from", "validator")).To(Succeed())
	var props struct {
		Proposals []struct {
			ID string `json:"id"`
		} `json:"proposals"`
	}
	Expect(top.Query(&props, "gov", "proposals")).To(Succeed())
	Expect(props.Proposals).NotTo(BeEmpty())
	Expect(top.TryTx("gov", "vote", props.Proposals[len(props.Proposals)-1].ID, "yes", "--from", "validator")).To(Succeed())
}

// scrapeMetrics reads a daemon's Prometheus metrics: series (with labels) to value.
func scrapeMetrics(p *topology.Proc) map[string]float64 {
	GinkgoHelper()
	resp, err := http.Get("http://" + p.Listen + "/metrics")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && i > 0 {
			out[line[:i]] = v
		}
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	return out
}
