// Command demo runs the Merit network on the built-in default model: a
// single-node chain, a merit-tiny subnet, four miners (two honest, one of them
// slower; one serving a different model; one returning random tokens), two
// validators with different stake and a delegator. It prints a table at every
// epoch and a summary at the end. Ctrl-C stops everything it started.
//
//	make demo                      (builds, then runs this)
//	go run ./scripts/demo -epochs 6 -logs build/demo-logs
package main

import (
	"bufio"
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

func main() {
	epochs := flag.Int("epochs", 6, "epochs to run after the daemons start")
	logs := flag.String("logs", "build/demo-logs", "folder for every process's log")
	bin := flag.String("bin", "build", "folder with meritd, merit-miner and merit-validator")
	tempo := flag.Uint64("tempo", 20, "subnet tempo in blocks (blocks are 300 ms)")
	flag.Parse()

	logDir, _ := filepath.Abs(*logs)
	binDir, _ := filepath.Abs(*bin)
	_ = os.RemoveAll(logDir)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := &localnet.Runner{Dir: filepath.Join(logDir, "work")}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		fmt.Println("\nstopping every process the demo started…")
		r.Close()
		fmt.Println("stopped; logs are in", logDir)
		os.Exit(130)
	}()
	defer r.Close()

	start := time.Now()
	fmt.Println("Merit demo — logs in", logDir)
	top := topology.Start(r, topology.Config{BinDir: binDir, LogDir: logDir, Tempo: *tempo}, func(s string) {
		fmt.Printf("  [%5.1fs] %s\n", time.Since(start).Seconds(), s)
	})
	fmt.Printf("\nchain RPC %s   gRPC %s\n", top.Chain.RPC, top.Chain.GRPC)
	for _, v := range top.Validators {
		fmt.Printf("dashboard of %s: http://%s/\n", v.Name, v.Listen)
	}
	fmt.Println()

	first := map[string]int64{}
	for name := range top.Addr {
		first[name] = top.Balance(name)
	}
	firstStake := top.Stake("delegator", "validator0")
	for e := 0; e < *epochs; e++ {
		st := top.WaitEpochs(1, 3*time.Minute)
		printTable(top, st, first)
	}
	summary(top, first, firstStake, time.Since(start))
}

func roleOf(top *topology.Topology, hotkey string) (string, string) {
	for _, p := range append(append([]*topology.Proc{}, top.Miners...), top.Validators...) {
		if top.Addr[p.Hotkey] == hotkey {
			return p.Name, string(p.Role)
		}
	}
	return "?", "?"
}

func frac(u uint32) string { return fmt.Sprintf("%.3f", float64(u)/65535) }

func mer(u int64) string { return fmt.Sprintf("%.3f", float64(u)/1e6) }

func printTable(top *topology.Topology, st topology.EpochState, first map[string]int64) {
	neurons, block, err := top.Metagraph()
	if err != nil {
		fmt.Println("metagraph:", err)
		return
	}
	scores := validatorScores(top)
	fmt.Printf("── epoch %d (block %d) ──────────────────────────────────────────────\n", st.Epoch, block)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "UID\tname\trole\tscore\tincentive\tdividends\temission\towner balance +\t")
	for _, n := range neurons {
		name, role := roleOf(top, n.Hotkey)
		owner := ""
		for k, a := range top.Addr {
			if a == n.Owner {
				owner = k
			}
		}
		score := "-"
		if s, ok := scores[n.UID]; ok {
			score = s
		}
		gain := top.Balance(owner) - first[owner]
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n.UID, name, role, score, frac(n.Incentive), frac(n.Dividends), mer(n.LastEmission), mer(gain))
	}
	w.Flush()
	fmt.Println("(emission and balances in MERIT; score is validator0's smoothed score)")
}

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

func summary(top *topology.Topology, first map[string]int64, firstStake int64, took time.Duration) {
	fmt.Printf("\n══ summary after %s ══\n", took.Round(time.Second))
	type row struct {
		name string
		gain int64
		why  string
	}
	var rows []row
	why := map[topology.Role]string{
		topology.HonestMiner: "answers verify and it is the fastest: highest incentive",
		topology.SlowMiner:   "answers verify but it is slower: less incentive",
		topology.WrongModel:  "serves a different model: verification fails, zero weight",
		topology.RandomMiner: "returns random tokens: verification fails, zero weight",
	}
	for _, m := range top.Miners {
		rows = append(rows, row{m.Name + " (owner " + m.Owner + ")", top.Balance(m.Owner) - first[m.Owner], why[m.Role]})
	}
	for _, v := range top.Validators {
		rows = append(rows, row{v.Name + " (owner " + v.Owner + ")", top.Balance(v.Owner) - first[v.Owner], "dividends for grading, take 18% of them"})
	}
	rows = append(rows, row{"owner (subnet)", top.Balance("owner") - first["owner"], "owner cut, 18% of the subnet's emission"})
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].gain > rows[b].gain })
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "who\tearned (MERIT)\twhy")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.name, mer(r.gain), r.why)
	}
	w.Flush()
	stake := top.Stake("delegator", "validator0")
	fmt.Printf("delegator's stake on validator0: %s → %s MERIT (dividends compound into stake)\n", mer(firstStake), mer(stake))
	h, _ := top.Chain.Height()
	supply, issued, burned, err := top.SupplyAt(h - 1)
	if err != nil {
		fmt.Println("supply:", err)
		return
	}
	fmt.Printf("supply: genesis %s + issued %s − burned %s = %s; bank reports %s\n",
		mer(top.GenesisSupply), mer(issued), mer(burned), mer(top.GenesisSupply+issued-burned), mer(supply))
}
