package billing

import (
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
// It is immutable. Each block's book shares the accounts that did not change
// with the book before it (a base index and an overlay of what changed since
// it), so following the chain costs what changed, not the subnet's size: a
// rebuild per block took 350 ms and 290 MB for 100k accounts. The fields that
// turn with the height or the epoch are worked out when an account is read.
type Book struct {
	Height int64
	Netuid uint32
	// Price is the subnet's price, umerit per million tokens.
	Price uint64
	Epoch uint64

	gateway string
	// base is shared by the books Patch makes; over holds what changed since
	// base (a nil entry: removed). A key in either index may be stale: a
	// lookup checks it against the account's entry.
	base, over index
	n          int
}

type index struct {
	byID  map[uint64]*entry
	byKey map[[32]byte]uint64
}

// entry is one account as the book keeps it: what does not depend on the
// height or the epoch, worked out once per change.
type entry struct {
	acc   Account // SettleBy holds only a closing account's deadline
	epoch uint64  // the epoch acc.EpochSpent counts in
	key   [32]byte
	open  bool // key is a valid hash and the account is not closing
	// revoked: the payer removed this gateway, which may settle until
	// revokedUntil.
	revoked      bool
	revokedUntil int64
	// fixed, when set, is the account exactly as an older book had it (see
	// keeping).
	fixed *Account
}

// NewBook keeps the accounts of netuid that gateway may see; epoch is the
// subnet's current epoch (an account's spend counts only in its epoch).
func NewBook(accounts []paymenttypes.Account, netuid uint32, gateway string, price, epoch uint64, height int64) *Book {
	b := &Book{Height: height, Netuid: netuid, Price: price, Epoch: epoch, gateway: gateway,
		base: index{byID: make(map[uint64]*entry, len(accounts)), byKey: make(map[[32]byte]uint64, len(accounts))}}
	for _, a := range accounts {
		if a.Netuid != netuid {
			continue
		}
		e := newEntry(a, gateway)
		if _, dup := b.base.byID[e.acc.ID]; !dup {
			b.n++
		}
		b.base.byID[e.acc.ID] = e
		if e.open {
			b.base.byKey[e.key] = e.acc.ID
		}
	}
	return b
}

func newEntry(a paymenttypes.Account, gateway string) *entry {
	e := &entry{acc: Account{ID: a.Id, Balance: saturate(a.Balance), SpendLimit: saturate(a.SpendLimitPerEpoch),
		EpochSpent: saturate(a.EpochSpent), Closing: a.Closing, CloseAt: a.CloseAt, Allowed: a.Allows(gateway)}, epoch: a.Epoch}
	if a.Closing {
		e.acc.SettleBy = a.CloseAt
	}
	if !e.acc.Allowed && (a.RevokedAny || slices.Contains(a.RevokedGateways, gateway)) {
		e.revoked, e.revokedUntil = true, a.RevokedUntil
	}
	// A closing account's hash is released on chain; it must not match.
	if n, err := hex.Decode(e.key[:], []byte(a.KeyHash)); err == nil && n == 32 && !a.Closing {
		e.open = true
	}
	return e
}

// view is e at the book's height and epoch.
func (b *Book) view(e *entry) Account {
	if e.fixed != nil {
		return *e.fixed
	}
	a := e.acc
	a.Height = b.Height
	if e.epoch != b.Epoch {
		a.EpochSpent = 0
	}
	if e.revoked && b.Height <= e.revokedUntil && (a.SettleBy == 0 || e.revokedUntil < a.SettleBy) {
		a.SettleBy = e.revokedUntil
	}
	return a
}

// entry is account id's entry (nil: not in the book).
func (b *Book) entry(id uint64) *entry {
	if e, ok := b.over.byID[id]; ok {
		return e
	}
	return b.base.byID[id]
}

// find is the entry whose key hashes to h (nil: none).
func (b *Book) find(h [32]byte) *entry {
	for _, ix := range [2]*index{&b.over, &b.base} {
		if id, ok := ix.byKey[h]; ok {
			if e := b.entry(id); e != nil && e.open && e.key == h {
				return e
			}
		}
	}
	return nil
}

// Patch is the book at a later height, from the accounts that changed
// since b.Height (read at that height) and those removed, with the subnet's
// price and epoch at that height. It reads nothing more from the chain, and
// costs what changed: the accounts that did not are shared with b, until
// the changes outgrow overlayMax and are folded into a new base.
func (b *Book) Patch(changed []paymenttypes.Account, removed []uint64, price, epoch uint64, height int64) *Book {
	nb := &Book{Height: height, Netuid: b.Netuid, Price: price, Epoch: epoch, gateway: b.gateway,
		base: b.base, over: b.over.clone(len(changed) + len(removed)), n: b.n}
	for _, a := range changed {
		if a.Netuid != b.Netuid {
			nb.remove(a.Id)
			continue
		}
		e := newEntry(a, b.gateway)
		if nb.entry(a.Id) == nil {
			nb.n++
		}
		nb.over.byID[a.Id] = e
		if e.open {
			nb.over.byKey[e.key] = a.Id
		}
	}
	for _, id := range removed {
		nb.remove(id)
	}
	if len(nb.over.byID) > overlayMax(nb.n) {
		nb.fold()
	}
	return nb
}

// overlayMax is how many changed accounts a book keeps beside its base
// before folding them in: each Patch copies the overlay, a fold copies the
// whole book.
func overlayMax(n int) int {
	return min(max(n/8, 64), 4096)
}

func (b *Book) remove(id uint64) {
	if b.entry(id) != nil {
		b.n--
		b.over.byID[id] = nil
	}
}

// fold makes a new base of b's accounts, with an empty overlay.
func (b *Book) fold() {
	base := index{byID: make(map[uint64]*entry, b.n), byKey: make(map[[32]byte]uint64, b.n)}
	for _, ix := range [2]*index{&b.base, &b.over} {
		for id := range ix.byID {
			if e := b.entry(id); e != nil {
				base.byID[id] = e
				if e.open {
					base.byKey[e.key] = id
				}
			}
		}
	}
	b.base, b.over = base, index{}
}

func (ix index) clone(extra int) index {
	c := index{byID: make(map[uint64]*entry, len(ix.byID)+extra), byKey: make(map[[32]byte]uint64, len(ix.byKey)+extra)}
	maps.Copy(c.byID, ix.byID)
	maps.Copy(c.byKey, ix.byKey)
	return c
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
	nb.over = b.over.clone(len(pinned))
	for id := range pinned {
		oe := old.entry(id)
		if oe == nil {
			nb.remove(id)
			continue
		}
		if nb.entry(id) == nil {
			nb.n++
		}
		pe := *oe
		v := old.view(oe)
		pe.fixed = &v
		nb.over.byID[id] = &pe
		if pe.open {
			if f := b.find(pe.key); f == nil || f.acc.ID == id {
				nb.over.byKey[pe.key] = id
			}
		}
	}
	return &nb
}

// ByKey is the open account whose key hashes to h.
func (b *Book) ByKey(h [32]byte) (*Account, bool) {
	e := b.find(h)
	if e == nil {
		return nil, false
	}
	a := b.view(e)
	return &a, true
}

// heightOf is the height account id's view is as of.
func (b *Book) heightOf(id uint64) int64 {
	if e := b.entry(id); e != nil && e.fixed != nil {
		return e.fixed.Height
	}
	return b.Height
}

// settleBy is account id's SettleBy (0 when it is not in the book).
func (b *Book) settleBy(id uint64) int64 {
	if e := b.entry(id); e != nil {
		return b.view(e).SettleBy
	}
	return 0
}

// ByID is the account id (open or closing).
func (b *Book) ByID(id uint64) (*Account, bool) {
	e := b.entry(id)
	if e == nil {
		return nil, false
	}
	a := b.view(e)
	return &a, true
}

// Len is the number of the subnet's accounts.
func (b *Book) Len() int { return b.n }

func saturate(v sdkmath.Int) uint64 {
	switch {
	case v.IsNil() || !v.IsPositive():
		return 0
	case !v.IsUint64():
		return math.MaxUint64
	}
	return v.Uint64()
}
