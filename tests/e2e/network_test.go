package e2e_test

import (
	"fmt"
	"os"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/meritnet/merit/internal/topology"
)

var _ = Describe("the Merit network", Ordered, func() {
	var top *topology.Topology
	var startBalances map[string]int64
	var startStake int64

	BeforeAll(func() {
		logs := os.Getenv("E2E_LOGS")
		if logs == "" {
			logs = GinkgoT().TempDir()
		}
		top = topology.Start(GinkgoT(), topology.Config{LogDir: logs, MaxUIDs: 6, Tempo: 20}, func(s string) {
			fmt.Fprintln(GinkgoWriter, s)
		})
		startBalances = map[string]int64{}
		for _, name := range []string{"minerowner0", "minerowner1", "minerowner2", "minerowner3", "valowner0", "valowner1", "owner"} {
			startBalances[name] = top.Balance(name)
		}
		startStake = top.Stake("delegator", "validator0")
		// Scores need a few probe rounds and two epochs to reach the chain
		// (commit, then reveal one epoch later, then the epoch that counts it).
		top.WaitEpochs(4, 5*time.Minute)
	})

	byName := func(neurons []topology.Neuron, name string) topology.Neuron {
		for _, n := range neurons {
			if n.Hotkey == top.Addr[name] {
				return n
			}
		}
		Fail("no neuron for " + name)
		return topology.Neuron{}
	}

	It("pays the fast honest miner more than the slow one, and cheaters nothing", func() {
		Eventually(func(g Gomega) {
			mg, _, err := top.Metagraph()
			g.Expect(err).NotTo(HaveOccurred())
			fast, slow := byName(mg, "miner0"), byName(mg, "miner1")
			g.Expect(slow.Incentive).To(BeNumerically(">", 0), "slow honest miner")
			g.Expect(fast.Incentive).To(BeNumerically(">", slow.Incentive), "fast vs slow")
			for _, cheat := range []string{"miner2", "miner3"} {
				n := byName(mg, cheat)
				g.Expect(n.Incentive).To(BeZero(), cheat+" incentive")
				g.Expect(n.LastEmission).To(BeZero(), cheat+" emission")
			}
		}, 4*time.Minute, 2*time.Second).Should(Succeed())
		Expect(top.Balance("minerowner0") - startBalances["minerowner0"]).To(BeNumerically(">", top.Balance("minerowner1")-startBalances["minerowner1"]))
		Expect(top.Balance("minerowner2")).To(Equal(startBalances["minerowner2"]))
		Expect(top.Balance("minerowner3")).To(Equal(startBalances["minerowner3"]))
	})

	It("pays both validators dividends roughly in proportion to stake, and compounds the delegator", func() {
		Eventually(func(g Gomega) {
			mg, _, err := top.Metagraph()
			g.Expect(err).NotTo(HaveOccurred())
			v0, v1 := byName(mg, "validator0"), byName(mg, "validator1")
			g.Expect(v0.Dividends).To(BeNumerically(">", 0))
			g.Expect(v1.Dividends).To(BeNumerically(">", 0))
			// validator0 holds 700 MERIT (600 + 100 delegated), validator1 300: about 7:3.
			ratio := float64(v0.Dividends) / float64(v1.Dividends)
			g.Expect(ratio).To(BeNumerically("~", 7.0/3.0, 1.2))
		}, 3*time.Minute, 2*time.Second).Should(Succeed())
		Expect(top.Balance("valowner0")).To(BeNumerically(">", startBalances["valowner0"]), "validator0's owner gets the take")
		Expect(top.Stake("delegator", "validator0")).To(BeNumerically(">", startStake), "delegator's stake grows")
		Expect(top.Balance("owner")).To(BeNumerically(">", startBalances["owner"]), "subnet owner gets the owner cut")
	})

	It("keeps bank supply = genesis + issued − burned, exactly", func() {
		h, err := top.Chain.Height()
		Expect(err).NotTo(HaveOccurred())
		supply, issued, burned, err := top.SupplyAt(h - 1)
		Expect(err).NotTo(HaveOccurred())
		Expect(issued).To(BeNumerically(">", 0))
		Expect(burned).To(BeNumerically(">", 0))
		Expect(supply).To(Equal(top.GenesisSupply + issued - burned))
	})

	It("counts weights only after their reveal, and a validator killed between commit and reveal reveals after restart", func() {
		v := top.Validators[1]
		hotkey := top.Addr[v.Hotkey]
		var commitBlock, revealUntil int64
		Eventually(func() bool {
			var res struct {
				Commits []struct {
					Commit struct {
						CommitBlock string `json:"commit_block"`
					} `json:"commit"`
					RevealUntil string `json:"reveal_until"`
				} `json:"commits"`
			}
			if top.Query(&res, "scoring", "commits", "1", hotkey) != nil || len(res.Commits) == 0 {
				return false
			}
			c := res.Commits[len(res.Commits)-1]
			commitBlock, _ = strconv.ParseInt(c.Commit.CommitBlock, 10, 64)
			revealUntil, _ = strconv.ParseInt(c.RevealUntil, 10, 64)
			return true
		}, 3*time.Minute, 300*time.Millisecond).Should(BeTrue(), "validator1 never committed")
		top.StopProc(v, true) // crash between commit and reveal

		// While the commit is pending, the stored weights are older than it.
		weightsSetAt := func() int64 {
			uid := uint32(0)
			mg, _, _ := top.Metagraph()
			for _, n := range mg {
				if n.Hotkey == hotkey {
					uid = n.UID
				}
			}
			var w struct {
				Weights struct {
					SetAt string `json:"set_at"`
				} `json:"weights"`
			}
			_ = top.Query(&w, "scoring", "weights", "1", fmt.Sprint(uid))
			s, _ := strconv.ParseInt(w.Weights.SetAt, 10, 64)
			return s
		}
		Expect(weightsSetAt()).To(BeNumerically("<", commitBlock))

		time.Sleep(3 * time.Second)
		top.StartProc(v)
		Eventually(weightsSetAt, 3*time.Minute, 500*time.Millisecond).Should(Equal(commitBlock),
			"the restarted validator did not reveal the commit of block %d (window until %d)", commitBlock, revealUntil)
	})

	It("applies a governance proposal changing the tempo, and the next epochs follow it", func() {
		var acct struct {
			Account struct {
				Value struct {
					Address string `json:"address"`
				} `json:"value"`
			} `json:"account"`
		}
		Expect(top.Query(&acct, "auth", "module-account", "gov")).To(Succeed())
		gov := acct.Account.Value.Address
		Expect(gov).NotTo(BeEmpty())
		var hp struct {
			Hyperparams map[string]any `json:"hyperparams"`
		}
		Expect(top.Query(&hp, "subnet", "hyperparams", "1")).To(Succeed())
		hp.Hyperparams["tempo"] = "12"
		proposeAndVote(top, map[string]any{
			"@type": "/merit.subnet.v1.MsgUpdateSubnetHyperparams", "sender": gov, "netuid": 1, "hyperparams": hp.Hyperparams,
		}, "Tempo 12", "Run subnet 1's epoch every 12 blocks")
		Eventually(func() uint64 {
			st, _ := top.Epoch()
			return st.Tempo
		}, 2*time.Minute, time.Second).Should(Equal(uint64(12)))
		a := top.WaitEpochs(1, 2*time.Minute)
		b := top.WaitEpochs(1, 2*time.Minute)
		Expect(b.LastEpochBlock - a.LastEpochBlock).To(Equal(int64(12)))
	})

	It("lets a killed miner decay and prunes it when a newcomer registers into the full subnet", func() {
		victim := top.Miners[0]
		top.StopProc(victim, true)
		Eventually(func(g Gomega) {
			mg, _, err := top.Metagraph()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(byName(mg, victim.Hotkey).LastEmission).To(BeZero())
		}, 6*time.Minute, 2*time.Second).Should(Succeed(), "the killed miner's emission did not decay to zero")
		Expect(top.TryTx("subnet", "register", "1", top.Addr["newcomer"], "1000000000", "--from", "newcomer")).To(Succeed())
		mg, _, err := top.Metagraph()
		Expect(err).NotTo(HaveOccurred())
		found := false
		for _, n := range mg {
			Expect(n.Hotkey).NotTo(Equal(top.Addr[victim.Hotkey]), "the killed miner is still registered")
			if n.Hotkey == top.Addr["newcomer"] {
				found = true
			}
		}
		Expect(found).To(BeTrue())
		Expect(mg).To(HaveLen(6))
	})
})
