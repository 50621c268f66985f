// Command demo runs the Merit network on the built-in default model: a
// single-node chain, a merit-tiny subnet with a price per token, four miners
// (two honest, one of them slower; one serving a different model; one
// returning random tokens), two validators with different stake, a delegator,
// and a user who pays for chat completions through validator0's gateway with
// the official OpenAI Go SDK. It prints a table at every epoch and a summary
// at the end. Ctrl-C stops everything it started.
//
//	make demo                      (builds, then runs this)
//	make demo EPOCHS=0             (runs until Ctrl-C)
//	go run ./scripts/demo -epochs 6 -logs build/demo-logs
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/meritnet/merit/internal/localnet"
	"github.com/meritnet/merit/internal/topology"
)

func main() { os.Exit(run()) }

// run is the demo; its result is the exit status (130 after Ctrl-C).
func run() int {
	epochs := flag.Int("epochs", 6, "epochs to run after the daemons start; 0 runs until Ctrl-C")
	logs := flag.String("logs", "build/demo-logs", "folder for every process's log")
	bin := flag.String("bin", "build", "folder with meritd, merit-miner and merit-validator")
	tempo := flag.Uint64("tempo", 20, "subnet tempo in blocks (blocks are 300 ms)")
	every := flag.Duration("user-interval", 700*time.Millisecond, "the user sends a chat request this often")
	deposit := flag.Int64("deposit", 2000, "MERIT the user deposits into its paid account (topped up when a quarter is left)")
	flag.Parse()
	if *epochs < 0 || *deposit < 1 || *every <= 0 {
		fmt.Fprintln(os.Stderr, "demo: -epochs must be ≥ 0, -deposit ≥ 1 MERIT and -user-interval positive")
		return 2
	}

	logDir, _ := filepath.Abs(*logs)
	binDir, _ := filepath.Abs(*bin)
	_ = os.RemoveAll(logDir)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := &localnet.Runner{Dir: filepath.Join(logDir, "work")}
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	interrupted := make(chan struct{})
	go func() {
		<-stop
		close(interrupted)
		cancel()
		// A second Ctrl-C does not wait for the summary.
		<-stop
		fmt.Println("\nstopping every process the demo started…")
		r.Close()
		os.Exit(130)
	}()
	defer r.Close()

	start := time.Now()
	fmt.Println("Merit demo — logs in", logDir)
	progress := func(s string) { fmt.Printf("  [%5.1fs] %s\n", time.Since(start).Seconds(), s) }
	top := topology.Start(r, topology.Config{BinDir: binDir, LogDir: logDir, Tempo: *tempo}, progress)

	d := &demo{top: top, deposit: *deposit * 1_000_000, first: map[string]int64{}, revenue: map[string]int64{}, payouts: map[string]int64{}}
	d.wallet = top.Balance("user")
	progress(fmt.Sprintf("user opens a paid account: %d MERIT, a fresh key (meritd tx payment open-account 1 %dumerit --new-key)", *deposit, d.deposit))
	acct, err := top.OpenAccount("user", d.deposit)
	if err != nil {
		r.Fatal(err)
	}
	d.acct, d.prevBalance = acct, d.deposit
	gw := top.Validators[0]
	if err := top.WaitKeyKnown(acct, 30*time.Second, gw); err != nil {
		r.Fatal(err)
	}
	url := top.GatewayURL(gw)
	d.user = topology.NewUser(topology.UserConfig{BaseURL: url, APIKey: acct.APIKey, Interval: *every})

	fmt.Printf("\nchain RPC %s   gRPC %s\n", top.Chain.RPC, top.Chain.GRPC)
	for _, v := range top.Validators {
		fmt.Printf("dashboard of %s: http://%s/\n", v.Name, v.Listen)
	}
	fmt.Printf("gateway of %s (OpenAI-compatible): %s   price %s MERIT per million tokens\n", gw.Name, url, mer(top.Cfg.PricePerMillionTokens))
	fmt.Printf("the user's API key (account %d, shared by anything you send with it): %s\n", acct.ID, acct.APIKey)
	if env, err := writeEnv(logDir, top, url, acct.APIKey); err != nil {
		fmt.Println("env file:", err)
	} else {
		fmt.Printf("in another terminal, `source %s` points meritd (MERIT_*) and OpenAI clients (OPENAI_*) at this network\n", env)
	}
	fmt.Println("try your own client while it runs:")
	fmt.Printf("  curl -sD- %s/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"model\":\"merit-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":16}'\n", url, acct.APIKey)
	fmt.Printf("  python3 -c 'from openai import OpenAI; r = OpenAI(base_url=\"%s\", api_key=\"%s\").chat.completions.with_raw_response.create("+
		"model=\"merit-tiny\", messages=[{\"role\": \"user\", \"content\": \"Once upon a time\"}], max_tokens=16); "+
		"print(r.headers[\"x-merit-cost\"], \"umerit:\", r.parse().choices[0].message.content)'\n", url, acct.APIKey)
	fmt.Println()

	for name := range top.Addr {
		d.first[name] = top.Balance(name)
	}
	d.firstStake = top.Stake("delegator", "validator0")
	st, err := top.Epoch()
	if err != nil {
		r.Fatal(err)
	}
	if d.prev, err = top.Flows(st.LastEpochBlock); err != nil {
		r.Fatal(err)
	}
	d.prevStats = d.user.Stats()
	userDone := make(chan topology.UserStats, 1)
	userCtx, stopUser := context.WithCancel(ctx)
	go func() { userDone <- d.user.Run(userCtx) }()

	for e := 0; *epochs == 0 || e < *epochs; e++ {
		var ok bool
		if st, ok = waitEpoch(ctx, top, st.Epoch, 3*time.Minute); !ok {
			break
		}
		d.epoch(ctx, st)
	}
	stopUser()
	final := <-userDone
	select {
	case <-interrupted:
		fmt.Println("\ninterrupted: the network stops with the demo; the summary covers the epochs shown")
		d.summary(final, time.Since(start))
		return 130
	default:
	}
	d.summary(final, time.Since(start))
	return 0
}

// waitEpoch waits for an epoch after after; false when ctx ends first.
func waitEpoch(ctx context.Context, top *topology.Topology, after uint64, timeout time.Duration) (topology.EpochState, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, err := top.Epoch(); err == nil && st.Epoch > after {
			return st, true
		}
		select {
		case <-ctx.Done():
			return topology.EpochState{}, false
		case <-time.After(250 * time.Millisecond):
		}
	}
	top.T.Fatalf("no epoch after %d in %s", after, timeout)
	return topology.EpochState{}, false
}

// demo holds what the tables compare against: the balances at the start,
// and the chain's and the user's totals at the previous epoch.
type demo struct {
	top        *topology.Topology
	user       *topology.User
	acct       topology.PaidAccount
	deposit    int64
	first      map[string]int64
	firstStake int64

	prev        topology.SubnetFlows
	prevBalance int64 // the account's balance at the previous epoch, plus top-ups since
	prevStats   topology.UserStats

	// For the summary: the last epoch's view and running sums.
	last      *view
	payouts   map[string]int64 // each neuron's payouts (emission + revenue), by name
	revenue   map[string]int64 // their derived revenue part
	ownerPaid int64            // the subnet owner's cuts
	ownerRev  int64            // and their revenue part
	wallet    int64            // the user's bank balance before it opened the account
	epochs    int
	userPaid  int64 // account balance drops over the epochs shown
	deposited int64 // top-ups
}

// view is one epoch as the tables show it.
type view struct {
	flows                  topology.SubnetFlows
	supply, issued, burned int64
	held, balance          int64
	// accountsHeld sums every access account (a person trying the demo may
	// open more than the user's).
	accountsHeld int64
	accounts     int
	balances     map[string]int64
	stake        int64
}

func (d *demo) epoch(ctx context.Context, st topology.EpochState) {
	top := d.top
	h := st.LastEpochBlock
	neurons, block, err := top.Metagraph()
	if err != nil {
		fmt.Println("metagraph:", err)
		return
	}
	v := &view{balances: map[string]int64{}}
	var errs []string
	if v.flows, err = top.Flows(h); err != nil {
		errs = append(errs, err.Error())
	}
	acc, err := top.Account(d.acct.ID, h)
	if err != nil {
		errs = append(errs, err.Error())
	}
	v.balance = acc.Balance
	if v.supply, v.issued, v.burned, err = top.SupplyAt(h); err != nil {
		errs = append(errs, err.Error())
	}
	if v.held, err = top.PaymentHeld(h); err != nil {
		errs = append(errs, err.Error())
	}
	if v.accountsHeld, v.accounts, err = top.AccountsHeld(h); err != nil {
		errs = append(errs, err.Error())
	}
	if ctx.Err() != nil {
		return // interrupted: the chain may already be gone
	}
	if len(errs) > 0 {
		fmt.Println("chain queries failed:", strings.Join(errs, "; "))
		return
	}
	for name := range top.Addr {
		v.balances[name] = top.Balance(name)
	}
	v.stake = top.Stake("delegator", "validator0")
	stats := d.user.Stats()
	us := stats.Sub(d.prevStats)
	paid := d.prevBalance - v.balance
	dPaid, dRev := v.flows.Paid-d.prev.Paid, v.flows.Revenue-d.prev.Revenue
	// The chain pays an epoch's pending payout as one sum: each neuron's
	// revenue part is its payout × revenue / (emission + revenue).
	part := func(x int64) int64 {
		if dPaid <= 0 {
			return 0
		}
		return x * dRev / dPaid
	}

	scores := validatorScores(top)
	fmt.Printf("── epoch %d (block %d) ──────────────────────────────────────────────\n", st.Epoch, block)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "UID\tname\trole\tscore\tincentive\tdividends\temission\trevenue\towner balance +\t")
	var neuronsPaid int64
	for _, n := range neurons {
		name, role := roleOf(top, n.Hotkey)
		owner := nameOf(top, n.Owner)
		score := "-"
		if s, ok := scores[n.UID]; ok {
			score = s
		}
		rev := part(n.LastEmission)
		neuronsPaid += n.LastEmission
		d.payouts[name] += n.LastEmission
		d.revenue[name] += rev
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n.UID, name, role, score, frac(n.Incentive), frac(n.Dividends),
			mer(n.LastEmission-rev), mer(rev), mer(v.balances[owner]-d.first[owner]))
	}
	w.Flush()
	d.ownerPaid += dPaid - neuronsPaid
	d.ownerRev += part(dPaid - neuronsPaid)
	fmt.Println("(MERIT; score is validator0's smoothed score; revenue is derived: the chain pays an epoch's emission and")
	fmt.Println(" users' payments as one sum, so a neuron's revenue part is its payout × the epoch's revenue / (emission + revenue))")

	fmt.Printf("user (account %d): %d requests [%s], %d streamed; %d tokens, %s MERIT by the X-Merit headers",
		d.acct.ID, us.Requests, us.StatusLine(), us.Streamed, us.BilledTokens, mer(us.Cost))
	if us.Unbilled > 0 {
		fmt.Printf(" (%d answers without a cost header)", us.Unbilled)
	}
	fmt.Println()
	if us.Failed > 0 {
		fmt.Printf("  last failure: %s\n", stats.LastError)
	}
	fmt.Printf("  on chain: paid %s MERIT since the last epoch (%s settles every 5 blocks), balance %s MERIT\n",
		mer(paid), top.Validators[0].Name, mer(v.balance))
	charged, fees, burnt, toSubnet := v.flows.Charged-d.prev.Charged, v.flows.GatewayFees-d.prev.GatewayFees, v.flows.Burned-d.prev.Burned, v.flows.ToSubnet-d.prev.ToSubnet
	fmt.Printf("  charged %s = gateway fee %s (to valowner0) + burned %s + to the subnet %s\n", mer(charged), mer(fees), mer(burnt), mer(toSubnet))
	share := 0.0
	if dPaid > 0 {
		share = 100 * float64(dRev) / float64(dPaid)
	}
	fmt.Printf("subnet payout this epoch %s MERIT = emission %s + revenue %s (%.1f%%)\n", mer(dPaid), mer(dPaid-dRev), mer(dRev), share)
	fmt.Printf("supply: genesis %s + issued %s − burned %s = %s; bank %s %s; x/payment holds %s = %s %s\n\n",
		mer(top.GenesisSupply), mer(v.issued), mer(v.burned), mer(top.GenesisSupply+v.issued-v.burned), mer(v.supply),
		check(top.GenesisSupply+v.issued-v.burned == v.supply), mer(v.held), heldBy(v.accounts), check(v.held == v.accountsHeld))

	d.epochs++
	d.userPaid += paid
	d.prev, d.prevBalance, d.prevStats, d.last = v.flows, v.balance, stats, v
	if v.balance < d.deposit/4 {
		if err := top.TryTx("payment", "deposit", strconv.FormatUint(d.acct.ID, 10), fmt.Sprintf("%dumerit", d.deposit), "--from", "user"); err != nil {
			fmt.Println("top-up:", err)
		} else {
			fmt.Printf("user tops up its account with %s MERIT\n\n", mer(d.deposit))
			d.prevBalance += d.deposit
			d.deposited += d.deposit
		}
	}
}

func check(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗ MISMATCH"
}

func roleOf(top *topology.Topology, hotkey string) (string, string) {
	for _, p := range append(append([]*topology.Proc{}, top.Miners...), top.Validators...) {
		if top.Addr[p.Hotkey] == hotkey {
			return p.Name, string(p.Role)
		}
	}
	return "?", "?"
}

func nameOf(top *topology.Topology, addr string) string {
	for k, a := range top.Addr {
		if a == addr {
			return k
		}
	}
	return ""
}

func frac(u uint32) string { return fmt.Sprintf("%.3f", float64(u)/65535) }

func mer(u int64) string { return fmt.Sprintf("%.3f", float64(u)/1e6) }

// validatorScores reads validator0's smoothed miner scores from its metrics.
func validatorScores(top *topology.Topology) map[uint32]string {
	out := map[uint32]string{}
	if len(top.Validators) == 0 {
		return out
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + top.Validators[0].Listen + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "merit_validator_miner_score{") {
			continue
		}
		i := strings.Index(line, `uid="`)
		if i < 0 {
			continue
		}
		rest, _, ok := strings.Cut(line[i+5:], `"`)
		if !ok {
			continue
		}
		uid, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			out[uint32(uid)] = fmt.Sprintf("%.3f", v)
		}
	}
	return out
}

// summary prints from what the epoch tables read, so that it needs no
// chain: after Ctrl-C the daemons may already have stopped.
func (d *demo) summary(u topology.UserStats, took time.Duration) {
	top := d.top
	fmt.Printf("\n══ summary after %s ══\n", took.Round(time.Second))
	v := d.last
	if v == nil {
		fmt.Println("no epoch completed")
		return
	}
	type row struct {
		name            string
		gain, paid, rev int64
		why             string
	}
	var rows []row
	why := map[topology.Role]string{
		topology.HonestMiner: "answers verify and it is the fastest: highest incentive",
		topology.SlowMiner:   "answers verify but it is slower: less incentive",
		topology.WrongModel:  "serves a different model: verification fails, zero weight",
		topology.RandomMiner: "returns random tokens: verification fails, zero weight",
	}
	for _, m := range top.Miners {
		rows = append(rows, row{m.Name + " (owner " + m.Owner + ")", v.balances[m.Owner] - d.first[m.Owner], d.payouts[m.Name], d.revenue[m.Name], why[m.Role]})
	}
	for _, p := range top.Validators {
		reason := "dividends for grading: its owner takes 18%, its stakers' stake grows by the rest"
		if p == top.Validators[0] {
			reason += "; the gateway's fees go to its owner"
		}
		rows = append(rows, row{p.Name + " (owner " + p.Owner + ")", v.balances[p.Owner] - d.first[p.Owner], d.payouts[p.Name], d.revenue[p.Name], reason})
	}
	rows = append(rows, row{"owner (subnet)", v.balances["owner"] - d.first["owner"], d.ownerPaid, d.ownerRev, "owner cut, 18% of the subnet's payout"})
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].paid > rows[b].paid })
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "who\tpaid out\tof it revenue\towner balance +\twhy")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.name, mer(r.paid), mer(r.rev), mer(r.gain), r.why)
	}
	w.Flush()
	fmt.Printf("(MERIT over the %d epochs shown; revenue parts derived as in the tables; the gateway fees, %s, are not in the payouts)\n",
		d.epochs, mer(v.flows.GatewayFees))
	fmt.Printf("delegator's stake on validator0: %s → %s MERIT (dividends compound into stake)\n", mer(d.firstStake), mer(v.stake))

	fmt.Printf("user: %d requests [%s], %d streamed, %d prompt + %d completion tokens in the answers, %d billed; %s MERIT by the X-Merit headers\n",
		u.Requests, u.StatusLine(), u.Streamed, u.PromptTokens, u.CompletionTokens, u.BilledTokens, mer(u.Cost))
	if u.Failed > 0 {
		fmt.Printf("  failures by error code: %s; the last: %s\n", u.CodeLine(), u.LastError)
	}
	fmt.Printf("  paid on chain over %d epochs: %s MERIT (the headers' sum also counts what was served after the last epoch; the chain also what others sent with the key)\n",
		d.epochs, mer(d.userPaid))
	fmt.Printf("  account %d: deposited %s MERIT, balance %s; the user's wallet %s → %s MERIT\n", d.acct.ID, mer(d.deposit+d.deposited), mer(v.balance),
		mer(d.wallet), mer(v.balances["user"]))
	f := v.flows
	fmt.Printf("subnet revenue so far: charged %s MERIT = gateway fees %s + burned %s + paid out through Yuma %s (%d tokens)\n",
		mer(f.Charged), mer(f.GatewayFees), mer(f.Burned), mer(f.ToSubnet), f.Tokens)
	fmt.Printf("supply: genesis %s + issued %s − burned %s = %s; bank reports %s %s\n",
		mer(top.GenesisSupply), mer(v.issued), mer(v.burned), mer(top.GenesisSupply+v.issued-v.burned), mer(v.supply),
		check(top.GenesisSupply+v.issued-v.burned == v.supply))
}

// writeEnv writes a shell file that points meritd and the stock OpenAI
// clients at the running demo (docs/payment.md walks a user through it):
// the chain's home has a client.toml naming the node and the test keyring,
// so `meritd … --home "$MERIT_HOME"` needs no other flag; the OpenAI SDKs
// read OPENAI_BASE_URL and OPENAI_API_KEY.
func writeEnv(logDir string, top *topology.Topology, gatewayURL, apiKey string) (string, error) {
	path := filepath.Join(logDir, "env.sh")
	body := fmt.Sprintf(`# The running Merit demo (written by make demo). Source it:  source %s
export MERIT_HOME=%q
export MERIT_GATEWAY=%q
export OPENAI_BASE_URL=%q
export OPENAI_API_KEY=%q
`, path, top.Chain.Home, gatewayURL, gatewayURL, apiKey)
	return path, os.WriteFile(path, []byte(body), 0o600)
}

// heldBy names whose balances x/payment holds.
func heldBy(accounts int) string {
	if accounts == 1 {
		return "the account's balance"
	}
	return fmt.Sprintf("the %d accounts' balances", accounts)
}
