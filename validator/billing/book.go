package billing

import (
	"cmp"
	"encoding/hex"
	"maps"
	"math"
	"slices"

	sdkmath "cosmossdk.io/math"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// Account is what admission needs of one x/payment access account, as of
// its Book's height. Amounts are umerit, saturated at MaxUint64.
type Account struct {
	ID uint64
	// Height is the block its balance and spend are as of: the book's,
	// except while a settlement of the account is on its way (Meter.Sending).
	Height  int64
	Balance uint64
	// SpendLimit is the most the account may be charged per subnet epoch
	// (0: no limit); EpochSpent what was charged in the current epoch.
	SpendLimit uint64
	EpochSpent uint64
	// Closing accounts are not served any more (their usage still settles
	// during the grace period).
	Closing bool
	CloseAt int64
	// Allowed says whether this gateway may serve the account.
	Allowed bool
	// SettleBy is the last block at which this gateway can settle what it
	// served (the account closes, or its payer removed this gateway from
	// the allowed list); 0 when there is no deadline.
	SettleBy int64
}

// Book is the subnet's access accounts, indexed by key hash, at one height.
type Book struct {
	Height int64
	Netuid uint32
	// Price is the subnet's price, umerit per million tokens.
	Price uint64
	Epoch uint64

	byKey map[[32]byte]*Account
	byID  map[uint64]*Account
	// raw are the subnet's accounts as the chain holds them, by id, and
	// gateway whose view this is: what Patch starts from.
	raw     []paymenttypes.Account
	gateway string
}

// NewBook keeps the accounts of netuid that gateway may see; epoch is the
// subnet's current epoch (an account's spend counts only in its epoch).
func NewBook(accounts []paymenttypes.Account, netuid uint32, gateway string, price, epoch uint64, height int64) *Book {
	b := &Book{Height: height, Netuid: netuid, Price: price, Epoch: epoch,
		byKey: map[[32]byte]*Account{}, byID: map[uint64]*Account{}, gateway: gateway}
	for _, a := range accounts {
		if a.Netuid != netuid {
			continue
		}
		b.raw = append(b.raw, a)
		acc := &Account{ID: a.Id, Height: height, Balance: saturate(a.Balance), SpendLimit: saturate(a.SpendLimitPerEpoch),
			Closing: a.Closing, CloseAt: a.CloseAt, Allowed: a.Allows(gateway)}
		if a.Closing {
			acc.SettleBy = a.CloseAt
		}
		if !acc.Allowed && a.MaySettle(gateway, height) && (acc.SettleBy == 0 || a.RevokedUntil < acc.SettleBy) {
			acc.SettleBy = a.RevokedUntil
		}
		if a.Epoch == epoch {
			acc.EpochSpent = saturate(a.EpochSpent)
		}
		b.byID[a.Id] = acc
		var h [32]byte
		// A closing account's hash is released on chain; it must not match.
		if n, err := hex.Decode(h[:], []byte(a.KeyHash)); err == nil && n == 32 && !a.Closing {
			b.byKey[h] = acc
		}
	}
	return b
}

// Patch is the book at a later height, from the accounts that changed
// since b.Height (read at that height) and those removed, with the subnet's
// price and epoch at that height. It reads nothing more from the chain, so
// what a gateway fetches per block follows what changed; rebuilding the
// index stays linear in the subnet's accounts, in memory.
func (b *Book) Patch(changed []paymenttypes.Account, removed []uint64, price, epoch uint64, height int64) *Book {
	byID := make(map[uint64]paymenttypes.Account, len(b.raw)+len(changed))
	for _, a := range b.raw {
		byID[a.Id] = a
	}
	for _, a := range changed {
		byID[a.Id] = a
	}
	for _, id := range removed {
		delete(byID, id)
	}
	merged := slices.SortedFunc(maps.Values(byID), func(x, y paymenttypes.Account) int { return cmp.Compare(x.Id, y.Id) })
	return NewBook(merged, b.Netuid, b.gateway, price, epoch, height)
}

// keeping is b with the accounts pinned as old has them: what the gateway
// serves while settlements of those accounts are on their way, so every
// other account (a new one, a top-up) is served at b's height at once.
// A key that b gives to an account not pinned stays with that account.
func (b *Book) keeping(old *Book, pinned map[uint64]int) *Book {
	if old == nil || len(pinned) == 0 {
		return b
	}
	nb := *b
	nb.byKey = make(map[[32]byte]*Account, len(b.byKey))
	nb.byID = make(map[uint64]*Account, len(b.byID))
	for k, a := range old.byKey {
		if pinned[a.ID] > 0 {
			nb.byKey[k] = a
		}
	}
	for k, a := range b.byKey {
		if pinned[a.ID] == 0 {
			nb.byKey[k] = a
		}
	}
	for id, a := range b.byID {
		if pinned[id] == 0 {
			nb.byID[id] = a
		}
	}
	for id := range pinned {
		if a, ok := old.byID[id]; ok {
			nb.byID[id] = a
		}
	}
	return &nb
}

// ByKey is the open account whose key hashes to h.
func (b *Book) ByKey(h [32]byte) (*Account, bool) {
	a, ok := b.byKey[h]
	return a, ok
}

// heightOf is the height account id's view is as of.
func (b *Book) heightOf(id uint64) int64 {
	if a, ok := b.byID[id]; ok {
		return a.Height
	}
	return b.Height
}

// ByID is the account id (open or closing).
func (b *Book) ByID(id uint64) (*Account, bool) {
	a, ok := b.byID[id]
	return a, ok
}

// Len is the number of the subnet's accounts.
func (b *Book) Len() int { return len(b.byID) }

func saturate(v sdkmath.Int) uint64 {
	switch {
	case v.IsNil() || !v.IsPositive():
		return 0
	case !v.IsUint64():
		return math.MaxUint64
	}
	return v.Uint64()
}
