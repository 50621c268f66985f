package miner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func testIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	dir, _ := testKeyring(t, "miner")
	kr, err := identity.Open(keyring.BackendTest, dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(kr, "miner", identity.WithCachedKey())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPublisherRetries(t *testing.T) {
	id := testIdentity(t)
	f := newFakeChain(1)
	f.Update(func(s *chaintest.State) { s.Subnet.Hyperparams.ServingRateLimit = 1 })
	f.AddNeuron(id.Address(), 0, false)
	metrics := NewMetrics()
	w := NewWatcher(WatcherConfig{Chain: f, Netuid: 1, Self: id.Address()})
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(PublisherConfig{Chain: f, Identity: id, Netuid: 1, Address: "10.0.0.1:8091", ModelID: "m@sha256:00", Watcher: w, Metrics: metrics})
	st := newPublishState()
	ctx := context.Background()

	// The chain says "too soon" (our copy was behind): no backoff beyond a
	// short pause, counted as rate_limited.
	f.FailNext(subnettypes.ErrRateLimited.Wrap("next update allowed at 12"))
	p.check(ctx, st)
	if metricValue(t, metrics, "merit_miner_endpoint_updates_total", map[string]string{"result": "rate_limited"}) != 1 || p.Current() {
		t.Fatal("rate limit not handled")
	}
	st.notBefore = time.Time{}
	// Any other failure backs off.
	f.FailNext(errors.New("connection reset"))
	p.check(ctx, st)
	if now := time.Now(); st.retry.Fails() != 1 || st.retry.Ready(now.Add(4*time.Second)) || !st.retry.Ready(now.Add(5*time.Second)) {
		t.Fatalf("backoff after %d failures not 5 s", st.retry.Fails())
	}
	p.check(ctx, st) // inside the backoff: nothing sent
	if n := len(f.Sent()); n != 2 {
		t.Fatalf("%d broadcasts", n)
	}
	st.retry.Reset() // skip the wait
	p.check(ctx, st)
	if got := published(f, id.Address()); got.Address != "10.0.0.1:8091" || got.ModelId != "m@sha256:00" || !p.Current() {
		t.Fatalf("published %+v", got)
	}
	// Already current: nothing more is sent.
	p.check(ctx, st)
	if n := len(f.Sent()); n != 3 {
		t.Fatalf("%d broadcasts", n)
	}
	// Pruned: reported, nothing sent.
	f.RemoveNeuron(id.Address())
	_ = w.Refresh(ctx)
	p.check(ctx, st)
	if p.Current() || len(f.Sent()) != 3 || metricValue(t, metrics, "merit_miner_registered", nil) != 0 {
		t.Fatal("unregistered miner handled wrong")
	}
}
