package billing

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUnsettledFollowsTheLedger: the accounts the gateway looks at every
// block are exactly those with usage to settle, through serving, partial
// and full settlements, counters the chain holds beyond ours, drops, and a
// restart.
func TestUnsettledFollowsTheLedger(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step int) {
		t.Helper()
		var want []Usage
		for _, u := range l.All() {
			if u.Dropped == "" && (u.Tokens > u.Settled.Tokens || u.Requests > u.Settled.Requests) {
				want = append(want, u)
			}
		}
		if got := l.Unsettled(); !slices.Equal(got, want) {
			t.Fatalf("step %d: unsettled %+v, want %+v", step, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 2000 {
		id := 1 + rng.Uint64N(40)
		u, _ := l.Usage(id)
		switch op := rng.IntN(200); {
		case op < 100:
			_, err = l.serve(id, rng.Uint64N(100), rng.Uint64N(10))
		case op < 160: // the chain accepts what was served
			err = l.settle(id, Settled{Tokens: u.Tokens, Requests: u.Requests, Height: int64(step)})
		case op < 180: // a settlement of part of it
			err = l.settle(id, Settled{Tokens: u.Tokens / 2, Requests: u.Requests / 2, Height: int64(step)})
		case op < 199: // the chain holds more than this ledger (a restored home)
			err = l.settle(id, Settled{Tokens: u.Tokens + 5, Requests: u.Requests + 1, Height: int64(step)})
		default:
			err = l.drop(id, "account closed")
		}
		if err != nil {
			t.Fatal(err)
		}
		check(step)
		if step%500 == 499 {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if l, err = OpenLedger(dir); err != nil {
				t.Fatal(err)
			}
			check(step)
		}
	}
	if len(l.Unsettled()) == 0 || len(l.Unsettled()) == len(l.All()) {
		t.Fatalf("%d of %d accounts unsettled: the run did not cover both", len(l.Unsettled()), len(l.All()))
	}
	_ = l.Close()
}

// BenchmarkBlockChecks is what the settler does every block (the unsettled
// total and the deadline check) for a gateway that served 100,000 accounts,
// 10 of them with usage to settle.
func BenchmarkBlockChecks(b *testing.B) {
	m := newMeter(b, b.TempDir())
	m.SetBook(NewBook(nil, 1, gw, 1_000_000, 0, 10))
	for id := uint64(1); id <= 100_000; id++ {
		u, err := m.ledger.serve(id, 100, 0)
		if err != nil {
			b.Fatal(err)
		}
		if id > 10 {
			if err := m.ledger.settle(id, Settled{Tokens: u.Tokens, Requests: u.Requests, Height: 5}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if m.UnsettledCost() == 0 || m.DeadlineDue() {
			b.Fatal("10 accounts have usage to settle, none a deadline")
		}
	}
}
