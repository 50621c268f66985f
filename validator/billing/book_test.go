package billing

import (
	"crypto/sha256"
	"reflect"
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
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patched book differs from a full read:\n got %+v\nwant %+v", got, want)
	}
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
