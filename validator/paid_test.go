package validator

import (
	"context"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/validator/gateway"
	"github.com/meritnet/merit/validator/internal/validatortest"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// runValidator runs v until the returned stop is called, which cancels it
// and waits (at most 30 s) for Run to return without an error; it fails t
// when v stops or is not ready within a minute.
func runValidator(t testing.TB, v *Validator) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	select {
	case <-v.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("validator stopped: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("validator not ready")
	}
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("validator: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("validator did not stop")
		}
	}
}

func TestSettlementChargesOnceAcrossRestarts(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(1000, false, id, 0)
	eng, _ := validatortest.TinyReference(t)
	m := validatortest.StartMiner(t, 1, eng)
	f.AddNeuron(m.Hotkey, 0, false)
	f.Update(func(s *chaintest.State) {
		s.Neurons[1].Neuron.Endpoint = subnettypes.Endpoint{Address: m.Address, ModelId: m.ModelID, UpdatedAt: 1}
		s.Subnet.Hyperparams.PricePerMillionTokens = 1_500_000
	})
	acct := f.AddAccount(validatortest.KeyHash(paidKey), 1_000_000)
	home := t.TempDir()
	start := func() (*Validator, func()) {
		v, err := New(Config{Home: home, Netuid: 1, Listen: "127.0.0.1:0", PollInterval: 50 * time.Millisecond,
			AllowPrivateEndpoints: true, ProbeInterval: time.Hour,
			Paid: PaidConfig{URL: "http://gw.example:8080/v1", SettleEvery: 3, SettleThreshold: 1 << 40}}, f, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return v, runValidator(t, v)
	}
	serve := func(v *Validator, n int) (cost uint64) {
		eventually(t, 10*time.Second, "the gateway reads the accounts", func() bool {
			resp, _ := validatortest.Post(t, "http://"+v.Addr()+"/v1/models", paidKey, "")
			return resp.StatusCode == http.StatusOK
		})
		for range n {
			resp, body := validatortest.Post(t, "http://"+v.Addr()+"/v1/completions", paidKey, `{"prompt":"Once upon a time","max_tokens":6,"temperature":0}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			cost += validatortest.HeaderUint(t, resp.Header, gateway.HeaderCost)
		}
		return cost
	}
	balance := func() int64 {
		var b int64
		f.Update(func(s *chaintest.State) { b = s.Payment.Accounts[acct].Balance.Int64() })
		return b
	}
	record := func() (r paymenttypes.Settlement) {
		f.Update(func(s *chaintest.State) {
			if p := s.Payment.Settlements[id.Address()][acct]; p != nil {
				r = *p
			}
		})
		return r
	}

	v, stop := start()
	paid := serve(v, 3)
	eventually(t, 20*time.Second, "settlement", func() bool { f.Advance(1); return balance() == 1_000_000-int64(paid) })
	if url := chainState(f).Payment.Gateways[id.Address()]; url != "http://gw.example:8080/v1" {
		t.Fatalf("announced %q", url)
	}
	// Served after the last settlement, then a clean stop: the stop settles.
	paid += serve(v, 2)
	stop()
	if got := balance(); got != 1_000_000-int64(paid) {
		t.Fatalf("after a clean stop the balance is %d, want %d", got, 1_000_000-int64(paid))
	}

	// Same home again: nothing is settled twice, new usage settles once.
	v, stop = start()
	defer stop()
	paid += serve(v, 1)
	eventually(t, 20*time.Second, "settlement after restart", func() bool { f.Advance(1); return balance() == 1_000_000-int64(paid) })
	f.Advance(10)
	time.Sleep(300 * time.Millisecond)
	if got := balance(); got != 1_000_000-int64(paid) {
		t.Fatalf("charged again: balance %d, want %d", got, 1_000_000-int64(paid))
	}
	u, _ := v.settler.meter.Ledger().Usage(acct)
	if r := record(); r.Tokens != u.Tokens || r.Requests != 6 || u.Settled.Charged != paid {
		t.Fatalf("chain %+v, ledger %+v, paid %d", r, u, paid)
	}
	var sent int
	for _, msg := range f.Sent() {
		if _, ok := msg.(*paymenttypes.MsgSettleUsage); ok {
			sent++
		}
	}
	if sent > 4 {
		t.Fatalf("%d settlement transactions for 3 settlements: idle intervals must send none", sent)
	}
}

// TestFailedListenReleasesLedger: when the listen address is taken, New
// fails and leaves no file of the home open (the usage ledger it opened
// first is closed again).
func TestFailedListenReleasesLedger(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(1000, false, id, 0)
	home := t.TempDir()
	if _, err := New(Config{Home: home, Netuid: 1, Listen: taken.Addr().String(), PollInterval: 50 * time.Millisecond}, f, id, nil); err == nil {
		t.Fatal("New listened on a taken address")
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, home) {
			t.Fatalf("%s is still open after New failed", target)
		}
	}
}
