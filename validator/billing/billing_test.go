package billing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	sdkmath "cosmossdk.io/math"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

const gw = "merit1gateway"

func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func account(id uint64, key string, balance int64, mut ...func(*paymenttypes.Account)) paymenttypes.Account {
	a := paymenttypes.Account{Id: id, Netuid: 1, KeyHash: keyHash(key), Balance: sdkmath.NewInt(balance),
		SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt()}
	for _, f := range mut {
		f(&a)
	}
	return a
}

func newMeter(t testing.TB, dir string) *Meter {
	t.Helper()
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return NewMeter(l)
}

func TestAdmissionRefusals(t *testing.T) {
	m := newMeter(t, t.TempDir())
	if _, err := m.Admit("k-alice-0123456789", 10); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before any book: %v", err)
	}
	m.SetBook(NewBook([]paymenttypes.Account{
		account(1, "k-alice-0123456789", 1000),
		account(2, "k-bob-0123456789", 1000, func(a *paymenttypes.Account) { a.AllowedGateways = []string{"merit1other"} }),
		account(3, "k-carol-0123456789", 1000, func(a *paymenttypes.Account) { a.Closing = true }),
		account(4, "k-dave-0123456789", 1000, func(a *paymenttypes.Account) { a.Netuid = 2 }),
		account(5, "k-erin-0123456789", 1000, func(a *paymenttypes.Account) {
			a.SpendLimitPerEpoch, a.EpochSpent, a.Epoch = sdkmath.NewInt(300), sdkmath.NewInt(250), 7
		}),
		account(6, "k-frank-0123456789", 1000, func(a *paymenttypes.Account) {
			a.SpendLimitPerEpoch, a.EpochSpent, a.Epoch = sdkmath.NewInt(300), sdkmath.NewInt(250), 6 // last epoch's spend
		}),
	}, 1, gw, 1_000_000 /* 1 umerit per token */, 7, 10))

	for key, want := range map[string]error{
		"k-nobody-0123456789": ErrUnknownKey, "k-bob-0123456789": ErrNotAllowed,
		"k-carol-0123456789": ErrUnknownKey, "k-dave-0123456789": ErrUnknownKey,
	} {
		if _, err := m.Admit(key, 10); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", key, err, want)
		}
	}
	var ie *InsufficientError
	if _, err := m.Admit("k-alice-0123456789", 1001); !errors.As(err, &ie) || ie.Available != 1000 || ie.Need != 1001 || ie.Limit {
		t.Fatalf("over balance: %v", err)
	}
	if _, err := m.Admit("k-erin-0123456789", 51); !errors.As(err, &ie) || ie.Available != 50 || !ie.Limit {
		t.Fatalf("over the epoch's limit: %v", err)
	}
	if _, err := m.Admit("k-frank-0123456789", 300); err != nil {
		t.Fatalf("last epoch's spend must not count: %v", err)
	}
}

// TestHoldsBoundConcurrentRequests: requests in flight hold their largest
// cost, so an account is never served beyond its balance, however many
// requests race; finished requests release what they did not use.
func TestHoldsBoundConcurrentRequests(t *testing.T) {
	m := newMeter(t, t.TempDir())
	m.SetBook(NewBook([]paymenttypes.Account{account(1, "key-aaaaaaaaaaaaaaaa", 10_000)}, 1, gw, 2_000_000, 0, 5))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted uint64
		spent    uint64
	)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := m.Admit("key-aaaaaaaaaaaaaaaa", 1000) // holds 2000 umerit
			if err != nil {
				return
			}
			used := uint64(500 + i*7%500)
			r, err := tk.Finish(used)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			admitted++
			spent += r.Cost
			mu.Unlock()
		}()
	}
	wg.Wait()
	if spent > 10_000 {
		t.Fatalf("served %d umerit on a 10000 balance", spent)
	}
	u, _ := m.Ledger().Usage(1)
	if want, _ := Cost(u.Tokens, 2_000_000, 0); want != spent {
		t.Fatalf("receipts add to %d; the chain would charge %d", spent, want)
	}
	if len(m.holds) != 0 {
		t.Fatalf("holds left: %v", m.holds)
	}
	t.Logf("%d of 64 admitted, %d umerit metered", admitted, spent)
}

// TestReceiptsAddUpToTheCharge: per-request costs at a price that leaves
// remainders sum to exactly what one settlement of the counters charges.
func TestReceiptsAddUpToTheCharge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		m := newMeter(t, t.TempDir())
		price := rng.Uint64N(3_000_000) + 1
		m.SetBook(NewBook([]paymenttypes.Account{account(1, "key-aaaaaaaaaaaaaaaa", 1<<40)}, 1, gw, price, 0, 5))
		var sum, tokens uint64
		for range 1 + rng.IntN(40) {
			tk, err := m.Admit("key-aaaaaaaaaaaaaaaa", 300)
			if err != nil {
				t.Fatal(err)
			}
			n := rng.Uint64N(300)
			r, err := tk.Finish(n)
			if err != nil {
				t.Fatal(err)
			}
			sum, tokens = sum+r.Cost, tokens+n
		}
		want, _ := paymenttypes.PriceUsage(tokens, price, 0)
		if !want.Equal(sdkmath.NewIntFromUint64(sum)) {
			t.Fatalf("price %d, %d tokens: receipts %d, chain %s", price, tokens, sum, want)
		}
	}
}

// TestSettlementViewFollowsTheBook: after a settlement, a book read before
// it (balance not yet charged) must still count the settled usage as owed,
// and a book read after it must not count it twice.
func TestSettlementViewFollowsTheBook(t *testing.T) {
	m := newMeter(t, t.TempDir())
	const key = "key-aaaaaaaaaaaaaaaa"
	m.SetBook(NewBook([]paymenttypes.Account{account(1, key, 1000)}, 1, gw, 1_000_000, 0, 10))
	tk, _ := m.Admit(key, 600)
	if _, err := tk.Finish(600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admit(key, 401); err == nil {
		t.Fatal("600 of 1000 owed: 401 more must be refused")
	}
	items, err := m.Pending(100)
	if err != nil || len(items) != 1 || items[0].CumulativeTokens != 600 {
		t.Fatalf("pending %v %v", items, err)
	}
	res := []paymenttypes.ItemResult{{AccountId: 1, Charged: sdkmath.NewInt(600), Shortfall: sdkmath.ZeroInt()}}
	if _, err := m.Applied(items, res, 12, 1_000_000); err != nil {
		t.Fatal(err)
	}
	// Book at 11: the charge is not in its balance yet.
	m.SetBook(NewBook([]paymenttypes.Account{account(1, key, 1000)}, 1, gw, 1_000_000, 0, 11))
	if _, err := m.Admit(key, 401); err == nil {
		t.Fatal("a book older than the settlement must still count it")
	}
	// Book at 12 shows the charge: 400 left, nothing unsettled.
	m.SetBook(NewBook([]paymenttypes.Account{account(1, key, 400)}, 1, gw, 1_000_000, 0, 12))
	tk, err = m.Admit(key, 400)
	if err != nil {
		t.Fatalf("a book at the settlement's height must not count it twice: %v", err)
	}
	tk.Cancel()
	if items, _ := m.Pending(100); len(items) != 0 {
		t.Fatalf("nothing left to settle, got %v", items)
	}
}

func TestRefusedItems(t *testing.T) {
	m := newMeter(t, t.TempDir())
	m.SetBook(NewBook([]paymenttypes.Account{account(1, "key-aaaaaaaaaaaaaaaa", 1000), account(2, "key-bbbbbbbbbbbbbbbb", 1000)}, 1, gw, 1_000_000, 0, 10))
	for _, k := range []string{"key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"} {
		tk, _ := m.Admit(k, 10)
		_, _ = tk.Finish(10)
	}
	items, _ := m.Pending(100)
	res := []paymenttypes.ItemResult{
		{AccountId: 1, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt(), Refused: "account closed: settlement was possible until block 9"},
		{AccountId: 2, Charged: sdkmath.ZeroInt(), Shortfall: sdkmath.ZeroInt(), Refused: "counters went backwards: settled 50 tokens / 2 requests, reported 10 / 1"},
	}
	out, err := m.Applied(items, res, 11, 1_000_000)
	if err != nil || !out[0].Dropped || !out[1].Resync {
		t.Fatalf("%+v %v", out, err)
	}
	if err := m.SetSettled(paymenttypes.Settlement{AccountId: 2, Tokens: 50, Requests: 2, Charged: sdkmath.NewInt(50), Shortfall: sdkmath.ZeroInt(), UpdatedAt: 8}); err != nil {
		t.Fatal(err)
	}
	if items, _ := m.Pending(100); len(items) != 0 {
		t.Fatalf("dropped and resynced accounts have nothing to settle: %v", items)
	}
	if _, err := m.Admit("key-aaaaaaaaaaaaaaaa", 1); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a dropped account is not served: %v", err)
	}
	u, _ := m.Ledger().Usage(2)
	if u.Tokens != 50 || u.Requests != 2 {
		t.Fatalf("served counters must catch up with the chain's: %+v", u)
	}
}

// TestLedgerSurvivesRestartAndTornTail: reopening replays every complete
// line; a line torn by a crash is ignored, damage before the tail is an
// error.
func TestLedgerSurvivesRestartAndTornTail(t *testing.T) {
	dir := t.TempDir()
	m := newMeter(t, dir)
	m.SetBook(NewBook([]paymenttypes.Account{account(7, "key-aaaaaaaaaaaaaaaa", 1<<30)}, 1, gw, 1_000_000, 0, 10))
	for range 5 {
		tk, _ := m.Admit("key-aaaaaaaaaaaaaaaa", 100)
		_, _ = tk.Finish(100)
	}
	items, _ := m.Pending(10)
	_, _ = m.Applied(items, []paymenttypes.ItemResult{{AccountId: 7, Charged: sdkmath.NewInt(500), Shortfall: sdkmath.ZeroInt()}}, 11, 1_000_000)
	tk, _ := m.Admit("key-aaaaaaaaaaaaaaaa", 100)
	_, _ = tk.Finish(42)

	path := filepath.Join(dir, LedgerFile)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString("u 7 99999 9 99") // torn: no checksum, no newline
	_ = f.Close()
	got, err := ReadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	u := got[7]
	if u.Tokens != 542 || u.Requests != 6 || u.Settled.Tokens != 500 || u.Settled.Charged != 500 || u.Settled.Height != 11 {
		t.Fatalf("replayed %+v", u)
	}
	l2, err := OpenLedger(dir) // compacts
	if err != nil {
		t.Fatal(err)
	}
	if u2, _ := l2.Usage(7); u2 != *u {
		t.Fatalf("after compaction %+v, want %+v", u2, *u)
	}
	_ = l2.Close()

	bz, _ := os.ReadFile(path)
	bz[3] ^= 1 // damage the first line
	_ = os.WriteFile(path, append(bz, []byte(fmt.Sprintf("u 7 600 7 0 %08x\n", 0))...), 0o600)
	if _, err := ReadLedger(path); err == nil {
		t.Fatal("a damaged line inside the file must be an error")
	}
}

func TestMaxCost(t *testing.T) {
	for _, c := range []struct{ tokens, price, want uint64 }{
		{0, 5, 0}, {1, 1, 1}, {1_000_000, 1, 1}, {1_000_001, 1, 2}, {3, 1_000_000, 3}, {1 << 62, 1 << 62, 1<<64 - 1},
	} {
		if got := MaxCost(c.tokens, c.price); got != c.want {
			t.Errorf("MaxCost(%d, %d) = %d, want %d", c.tokens, c.price, got, c.want)
		}
	}
}

// BenchmarkAdmitFinish is the gateway's own metering cost per request with
// 64 concurrent users on separate accounts (no miner, no HTTP).
func BenchmarkAdmitFinish(b *testing.B) {
	m := newMeter(b, b.TempDir())
	var accts []paymenttypes.Account
	for i := range 64 {
		accts = append(accts, account(uint64(i+1), fmt.Sprintf("key-%016d", i), 1<<50))
	}
	m.SetBook(NewBook(accts, 1, gw, 2_000_000, 0, 5))
	var next sync.Mutex
	n := 0
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		key := fmt.Sprintf("key-%016d", n%64)
		n++
		next.Unlock()
		for pb.Next() {
			tk, err := m.Admit(key, 256)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tk.Finish(200); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDeadlineDue: usage of an account that closes, or that drops this
// gateway from its allowed list, must settle before the deadline.
func TestDeadlineDue(t *testing.T) {
	m := newMeter(t, t.TempDir())
	const key = "key-aaaaaaaaaaaaaaaa"
	m.SetBook(NewBook([]paymenttypes.Account{account(1, key, 1000)}, 1, gw, 1_000_000, 0, 10))
	tk, _ := m.Admit(key, 10)
	_, _ = tk.Finish(10)
	if m.DeadlineDue() {
		t.Fatal("an open account is not due")
	}
	m.SetBook(NewBook([]paymenttypes.Account{account(1, key, 1000, func(a *paymenttypes.Account) { a.Closing, a.CloseAt = true, 30 })}, 1, gw, 1_000_000, 0, 11))
	if !m.DeadlineDue() {
		t.Fatal("a closing account with unsettled usage is due")
	}
	items, _ := m.Pending(10)
	_, _ = m.Applied(items, []paymenttypes.ItemResult{{AccountId: 1, Charged: sdkmath.NewInt(10), Shortfall: sdkmath.ZeroInt()}}, 12, 1_000_000)
	if m.DeadlineDue() {
		t.Fatal("settled: nothing due")
	}

	// The payer keeps the account open but allows only another gateway:
	// this one may not serve it, and settles what it served before the
	// chain's grace ends.
	const key2 = "key-bbbbbbbbbbbbbbbb"
	m.SetBook(NewBook([]paymenttypes.Account{account(2, key2, 1000)}, 1, gw, 1_000_000, 0, 13))
	tk, _ = m.Admit(key2, 10)
	_, _ = tk.Finish(10)
	revoked := account(2, key2, 1000, func(a *paymenttypes.Account) {
		a.AllowedGateways, a.RevokedGateways, a.RevokedUntil = []string{"elsewhere"}, []string{gw}, 40
	})
	m.SetBook(NewBook([]paymenttypes.Account{revoked}, 1, gw, 1_000_000, 0, 14))
	if _, err := m.Admit(key2, 10); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("a removed gateway served: %v", err)
	}
	if a, _ := m.book.Load().ByID(2); a.SettleBy != 40 || !m.DeadlineDue() {
		t.Fatalf("removed gateway: settle by %d, due %v; want 40, true", a.SettleBy, m.DeadlineDue())
	}
	// Past the deadline the chain refuses; nothing left to hurry for.
	m.SetBook(NewBook([]paymenttypes.Account{revoked}, 1, gw, 1_000_000, 0, 41))
	if m.DeadlineDue() {
		t.Fatal("due past the deadline")
	}
}

// TestLedgerBelongsToOneChain: usage counted for one chain, subnet and
// gateway is never settled on another (a home reused after a reset).
func TestLedgerBelongsToOneChain(t *testing.T) {
	dir := t.TempDir()
	own := Owner{ChainID: "merit-1", Netuid: 1, Gateway: gw}
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(own); err != nil {
		t.Fatal(err)
	}
	m := NewMeter(l)
	m.SetBook(NewBook([]paymenttypes.Account{account(1, "key-aaaaaaaaaaaaaaaa", 1000)}, 1, gw, 1_000_000, 0, 10))
	tk, _ := m.Admit("key-aaaaaaaaaaaaaaaa", 10)
	_, _ = tk.Finish(10)
	_ = l.Close()

	for _, c := range []struct {
		owner Owner
		ok    bool
	}{
		{own, true},
		{Owner{ChainID: "merit-2", Netuid: 1, Gateway: gw}, false},
		{Owner{ChainID: "merit-1", Netuid: 2, Gateway: gw}, false},
		{Owner{ChainID: "merit-1", Netuid: 1, Gateway: "merit1other"}, false},
	} {
		l, err := OpenLedger(dir) // compacts: the owner must survive it
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Bind(c.owner); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.owner, err)
		}
		_ = l.Close()
	}
	// A ledger with usage and no owner record is not guessed at.
	dir2 := t.TempDir()
	l2, _ := OpenLedger(dir2)
	m2 := NewMeter(l2)
	m2.SetBook(NewBook([]paymenttypes.Account{account(1, "key-aaaaaaaaaaaaaaaa", 1000)}, 1, gw, 1_000_000, 0, 10))
	tk, _ = m2.Admit("key-aaaaaaaaaaaaaaaa", 10)
	_, _ = tk.Finish(10)
	if err := l2.Bind(own); err == nil {
		t.Fatal("a ledger with usage and no owner must not be taken")
	}
	_ = l2.Close()
}

// TestSettlementTakesEveryAccountInTurn: when more accounts have usage than
// one settlement takes, the ones settled longest ago go first, so accounts
// that keep being served cannot hold the others back.
func TestSettlementTakesEveryAccountInTurn(t *testing.T) {
	m := newMeter(t, t.TempDir())
	var accts []paymenttypes.Account
	for id := uint64(1); id <= 9; id++ {
		accts = append(accts, account(id, fmt.Sprintf("key-%d-aaaaaaaaaaaaaaaa", id), 1_000_000))
	}
	m.SetBook(NewBook(accts, 1, gw, 1_000_000, 0, 10))
	serve := func(id uint64) {
		tk, err := m.Admit(fmt.Sprintf("key-%d-aaaaaaaaaaaaaaaa", id), 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Finish(10); err != nil {
			t.Fatal(err)
		}
	}
	for id := uint64(1); id <= 9; id++ {
		serve(id)
	}
	settled := map[uint64]bool{}
	for round := int64(0); round < 3; round++ {
		items, err := m.Pending(3)
		if err != nil || len(items) != 3 {
			t.Fatalf("round %d: %v %v", round, items, err)
		}
		res := make([]paymenttypes.ItemResult, len(items))
		for i, it := range items {
			settled[it.AccountId] = true
			res[i] = paymenttypes.ItemResult{AccountId: it.AccountId, Charged: sdkmath.NewInt(10), Shortfall: sdkmath.ZeroInt()}
		}
		if _, err := m.Applied(items, res, 11+round, 1_000_000); err != nil {
			t.Fatal(err)
		}
		// Accounts 1–3 are busy: served again before every settlement.
		for id := uint64(1); id <= 3; id++ {
			serve(id)
		}
	}
	if len(settled) != 9 {
		t.Fatalf("after three rounds of three, settled %d of 9 accounts: %v", len(settled), settled)
	}
}
