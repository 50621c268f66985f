package validator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

const (
	testKey = "sk-test-0123456789abcdef"
	paidKey = "sk-merit-paid-0123456789abcdef"
)

// newFakeChain is a chaintest chain at height 1 whose subnet 1 has the
// given tempo and commit-reveal mode (reveal period 1, weights rate limit
// 2 blocks), self as a permitted validator (UID 0) and miners more neurons.
func newFakeChain(tempo uint64, commitReveal bool, self *identity.Identity, miners int) *chaintest.Chain {
	h := subnettypes.DefaultHyperparams()
	h.Tempo, h.CommitRevealEnabled, h.RevealPeriod, h.WeightsRateLimit = tempo, commitReveal, 1, 2
	f := chaintest.New(subnettypes.Subnet{Netuid: 1, Name: "test", Hyperparams: h,
		Task: subnettypes.Task{ModelName: "merit-tiny", ModelSha256: "2f27905e0378c0ede9f74e1d1f4ff843657e08571013367bcc5465e377523467", EngineFormat: "llama2c", MaxTokens: 16}}, 1)
	f.AddNeuron(self.Address(), 1000, true)
	for i := range miners {
		f.AddNeuron(fmt.Sprintf("miner%d", i), 1000, false)
	}
	return f
}

// metagraph is the validator's snapshot of f now.
func metagraph(t testing.TB, f *chaintest.Chain, self string) *Metagraph {
	t.Helper()
	mg, err := readMetagraph(context.Background(), f, 1, self)
	if err != nil {
		t.Fatal(err)
	}
	return mg
}

// chainState reads f's state.
func chainState(f *chaintest.Chain) chaintest.State { return f.Snapshot() }

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}
