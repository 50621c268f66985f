package billing

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	sdkmath "cosmossdk.io/math"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// TestBookPatch: a book brought forward by the accounts that changed is the
// book a full read at the new height gives: changed balances, a new
// account, a refunded one gone, a closing key released, another subnet's
// account ignored, and the epoch's spend reset by the new epoch.
func TestBookPatch(t *testing.T) {
	spent := func(a *paymenttypes.Account) {
		a.SpendLimitPerEpoch, a.EpochSpent, a.Epoch = sdkmath.NewInt(500), sdkmath.NewInt(200), 3
	}
	before := []paymenttypes.Account{
		account(1, "key-one-0123456789", 1000, spent),
		account(2, "key-two-0123456789", 1000),
		account(3, "key-three-0123456789", 1000),
	}
	old := NewBook(before, 1, gw, 1_000_000, 3, 10)

	changed := []paymenttypes.Account{
		account(2, "key-two-0123456789", 640),
		account(3, "key-three-0123456789", 1000, func(a *paymenttypes.Account) { a.Closing, a.CloseAt = true, 40 }),
		account(4, "key-four-0123456789", 5000),
		account(5, "key-five-0123456789", 5000, func(a *paymenttypes.Account) { a.Netuid = 2 }),
	}
	got := old.Patch(changed, []uint64{1}, 2_000_000, 4, 12)
	want := NewBook([]paymenttypes.Account{changed[0], changed[1], changed[2]}, 1, gw, 2_000_000, 4, 12)
	sameBook(t, got, want, []uint64{1, 2, 3, 4, 5}, hashes("key-one-0123456789", "key-two-0123456789",
		"key-three-0123456789", "key-four-0123456789", "key-five-0123456789"))
	if _, ok := got.ByID(1); ok {
		t.Fatal("a refunded account is still in the book")
	}
	if _, ok := got.ByKey(sha256.Sum256([]byte("key-three-0123456789"))); ok {
		t.Fatal("a closing account's key still opens it")
	}
	if a, ok := got.ByKey(sha256.Sum256([]byte("key-four-0123456789"))); !ok || a.Balance != 5000 {
		t.Fatalf("the new account: %+v %v", a, ok)
	}

	// The epoch turns with no account changed: last epoch's spend no
	// longer counts.
	kept := NewBook([]paymenttypes.Account{account(1, "key-one-0123456789", 1000, spent)}, 1, gw, 1_000_000, 3, 10)
	if a, _ := kept.ByID(1); a.EpochSpent != 200 {
		t.Fatalf("epoch 3 spend %d, want 200", a.EpochSpent)
	}
	if a, _ := kept.Patch(nil, nil, 1_000_000, 4, 11).ByID(1); a.EpochSpent != 0 {
		t.Fatalf("epoch 4 spend %d, want 0", a.EpochSpent)
	}
	if old.Height != 10 || old.Len() != 3 {
		t.Fatal("Patch changed the book it started from")
	}
}

func hashes(keys ...string) [][32]byte {
	hs := make([][32]byte, len(keys))
	for i, k := range keys {
		hs[i] = sha256.Sum256([]byte(k))
	}
	return hs
}

// sameBook fails unless got answers every lookup as want does.
func sameBook(t *testing.T, got, want *Book, ids []uint64, keys [][32]byte) {
	t.Helper()
	if got.Height != want.Height || got.Netuid != want.Netuid || got.Price != want.Price || got.Epoch != want.Epoch || got.Len() != want.Len() {
		t.Fatalf("book %d/%d/%d/%d len %d, want %d/%d/%d/%d len %d", got.Height, got.Netuid, got.Price, got.Epoch, got.Len(),
			want.Height, want.Netuid, want.Price, want.Epoch, want.Len())
	}
	for _, id := range ids {
		g, gok := got.ByID(id)
		w, wok := want.ByID(id)
		if gok != wok || (gok && *g != *w) {
			t.Fatalf("account %d: got %+v (%v), want %+v (%v)", id, g, gok, w, wok)
		}
		if got.settleBy(id) != want.settleBy(id) || got.heightOf(id) != want.heightOf(id) {
			t.Fatalf("account %d: settle by %d at %d, want %d at %d", id, got.settleBy(id), got.heightOf(id), want.settleBy(id), want.heightOf(id))
		}
	}
	for i, h := range keys {
		g, gok := got.ByKey(h)
		w, wok := want.ByKey(h)
		if gok != wok || (gok && *g != *w) {
			t.Fatalf("key %d: got %+v (%v), want %+v (%v)", i, g, gok, w, wok)
		}
	}
}

// TestBookPatchRandom: a book carried forward by patches, block after
// block, answers every lookup as a full read at each height does, through
// new accounts, top-ups, closings, refunds, rotated keys, keys released
// and taken again, allowed lists and revocations, epochs, and the folds of
// the overlay into a new base.
func TestBookPatchRandom(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		keys := make([]string, 60)
		for i := range keys {
			keys[i] = fmt.Sprintf("key-%d-%d-0123456789", seed, i)
		}
		chain := map[uint64]paymenttypes.Account{}
		nextID := uint64(1)
		// freeKey is a key no open account holds (the chain's rule).
		freeKey := func() string {
			for {
				k := keys[rng.IntN(len(keys))]
				taken := false
				for _, a := range chain {
					taken = taken || (!a.Closing && a.KeyHash == keyHash(k))
				}
				if !taken {
					return k
				}
			}
		}
		full := func(height int64, epoch uint64) *Book {
			all := make([]paymenttypes.Account, 0, len(chain))
			for id := uint64(1); id < nextID; id++ {
				if a, ok := chain[id]; ok {
					all = append(all, a)
				}
			}
			return NewBook(all, 1, gw, 1_000_000, epoch, height)
		}
		book := full(1, 0)
		epoch := uint64(0)
		for height := int64(2); height < 400; height++ {
			var changed []paymenttypes.Account
			var removed []uint64
			for range rng.IntN(6) {
				id := 1 + rng.Uint64N(nextID)
				a, ok := chain[id]
				switch op := rng.IntN(10); {
				case !ok || op == 0:
					if len(chain) >= len(keys)-5 {
						continue
					}
					id, nextID = nextID, nextID+1
					a = account(id, freeKey(), rng.Int64N(1_000_000), func(a *paymenttypes.Account) {
						a.Netuid = uint32(1 + rng.IntN(4)/3) // a quarter on subnet 2
						a.Epoch, a.EpochSpent, a.SpendLimitPerEpoch = epoch, sdkmath.NewInt(rng.Int64N(100)), sdkmath.NewInt(rng.Int64N(2)*500)
					})
				case op == 1 && a.Closing:
					delete(chain, id)
					removed = append(removed, id)
					continue
				case op == 1:
					a.Closing, a.CloseAt = true, height+int64(rng.IntN(50))
				case op == 2 && !a.Closing:
					a.KeyHash = keyHash(freeKey())
				case op == 3:
					a.AllowedGateways = []string{"merit1other"}
					a.RevokedUntil, a.RevokedAny = height+int64(rng.IntN(20)), rng.IntN(2) == 0
					if !a.RevokedAny {
						a.RevokedGateways = []string{gw}
					}
				case op == 4:
					a.AllowedGateways, a.RevokedGateways, a.RevokedAny = nil, nil, false
				default:
					a.Balance = sdkmath.NewInt(rng.Int64N(1_000_000))
					a.Epoch, a.EpochSpent = epoch, sdkmath.NewInt(rng.Int64N(500))
				}
				chain[id] = a
				changed = append(changed, a)
			}
			if rng.IntN(30) == 0 {
				epoch++
			}
			book = book.Patch(changed, removed, 1_000_000, epoch, height)
			ids := make([]uint64, 0, nextID)
			for id := range nextID + 1 {
				ids = append(ids, id)
			}
			want := full(height, epoch)
			sameBook(t, book, want, ids, hashes(keys...))
			for _, a := range chain {
				if got, ok := want.ByID(a.Id); (a.Netuid == 1) != ok || (ok && *got != oracle(a, height, epoch)) {
					t.Fatalf("height %d: account %+v read as %+v (%v), want %+v", height, a, got, ok, oracle(a, height, epoch))
				}
			}
		}
	}
}

// oracle is what admission must see of a at height in epoch, straight from
// x/payment's rules.
func oracle(a paymenttypes.Account, height int64, epoch uint64) Account {
	acc := Account{ID: a.Id, Height: height, Balance: saturate(a.Balance), SpendLimit: saturate(a.SpendLimitPerEpoch),
		Closing: a.Closing, CloseAt: a.CloseAt, Allowed: a.Allows(gw)}
	if a.Closing {
		acc.SettleBy = a.CloseAt
	}
	if !acc.Allowed && a.MaySettle(gw, height) && (acc.SettleBy == 0 || a.RevokedUntil < acc.SettleBy) {
		acc.SettleBy = a.RevokedUntil
	}
	if a.Epoch == epoch {
		acc.EpochSpent = saturate(a.EpochSpent)
	}
	return acc
}

// TestKeepingPinsOnlyTheSettledAccounts: the book installed while a
// settlement is on its way has the settled accounts as the older book had
// them, and everything else as the newer one.
func TestKeepingPinsOnlyTheSettledAccounts(t *testing.T) {
	old := NewBook([]paymenttypes.Account{account(1, "key-one-0123456789", 1000), account(2, "key-two-0123456789", 1000)}, 1, gw, 1_000_000, 0, 10)
	newer := old.Patch([]paymenttypes.Account{
		account(1, "key-one-rotated-0123", 700), // settled and rotated meanwhile
		account(2, "key-two-0123456789", 5000),  // topped up
		account(3, "key-three-0123456789", 50),  // opened
	}, nil, 1_000_000, 0, 12)
	mixed := newer.keeping(old, map[uint64]int{1: 1})
	if a, ok := mixed.ByKey(sha256.Sum256([]byte("key-one-0123456789"))); !ok || a.Balance != 1000 || a.Height != 10 || mixed.heightOf(1) != 10 {
		t.Fatalf("settled account: %+v %v, want its view at 10", a, ok)
	}
	if _, ok := mixed.ByKey(sha256.Sum256([]byte("key-one-rotated-0123"))); ok {
		t.Fatal("the settled account's new key opens it before the result is in")
	}
	for key, bal := range map[string]uint64{"key-two-0123456789": 5000, "key-three-0123456789": 50} {
		if a, ok := mixed.ByKey(sha256.Sum256([]byte(key))); !ok || a.Balance != bal || a.Height != 12 {
			t.Fatalf("%s: %+v %v, want balance %d at 12", key, a, ok, bal)
		}
	}
	if mixed.Len() != 3 || newer.Len() != 3 {
		t.Fatalf("len %d and %d, want 3", mixed.Len(), newer.Len())
	}
	if a, _ := newer.ByID(1); a.Balance != 700 {
		t.Fatal("keeping changed the book it started from")
	}
}

// BenchmarkBookPatch is a block's update of a gateway's book: 10 accounts
// changed among n.
func BenchmarkBookPatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		accts := make([]paymenttypes.Account, n)
		for i := range accts {
			accts[i] = account(uint64(i+1), fmt.Sprintf("key-%d-0123456789", i), 1000)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			book := NewBook(accts, 1, gw, 1_000_000, 0, 10)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				changed := accts[i%n : i%n+10]
				book = book.Patch(changed, nil, 1_000_000, 0, book.Height+1)
				i = (i + 10) % (n - 10)
			}
		})
	}
}
