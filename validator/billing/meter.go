package billing

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// Why a key is not served. The gateway maps them to OpenAI's statuses.
var (
	ErrNotReady   = errors.New("the gateway has not read the chain's accounts yet")
	ErrUnknownKey = errors.New("unknown API key")
	ErrNotAllowed = errors.New("this gateway may not charge the account")
)

// InsufficientError is a request the account cannot pay for at its
// largest size.
type InsufficientError struct {
	Account uint64
	// Available is what the account can still be charged here: its balance
	// (or, when lower, what its epoch spend limit leaves), less this
	// gateway's unsettled usage and the requests in flight.
	Available uint64
	Need      uint64
	Price     uint64
	// Limit says the spend limit, not the balance, is what ran out.
	Limit bool
}

func (e *InsufficientError) Error() string {
	what := "balance"
	if e.Limit {
		what = "spend limit for this epoch"
	}
	return fmt.Sprintf("account %d: %s leaves %d umerit; this request may cost up to %d umerit (prompt + max_tokens at %d umerit per million tokens)",
		e.Account, what, e.Available, e.Need, e.Price)
}

// Meter admits, meters and settles one gateway's paid requests. Admission
// holds a request's largest cost until it finishes, so concurrent requests
// of one account can never together exceed what it can pay; metering
// persists the real usage in the Ledger before the user sees the answer.
type Meter struct {
	ledger *Ledger
	book   atomic.Pointer[Book]

	mu sync.Mutex
	// holds are the largest costs of the requests in flight, per account.
	holds map[uint64]uint64
	// prev is each account's settled state before its latest settlement:
	// the view to use with a Book older than that settlement, whose balance
	// does not show its charge yet.
	prev map[uint64]Settled

	// sending counts, per account, the settlements whose result is not in
	// the ledger yet; meanwhile newer books are installed with those
	// accounts pinned, and the whole newest one waits in held (see Sending).
	sendMu  sync.Mutex
	sending map[uint64]int
	held    *Book

	// changed is closed, and replaced, whenever a newer book is installed.
	changedMu sync.Mutex
	changed   chan struct{}
}

// NewMeter meters into l.
func NewMeter(l *Ledger) *Meter {
	return &Meter{ledger: l, holds: map[uint64]uint64{}, prev: map[uint64]Settled{}, sending: map[uint64]int{},
		changed: make(chan struct{})}
}

// SetBook installs a newer account snapshot (older ones are ignored);
// accounts whose settlement is on its way keep their older view until the
// result is in.
func (m *Meter) SetBook(b *Book) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if len(m.sending) > 0 {
		if m.held == nil || b.Height >= m.held.Height {
			m.held = b
		}
		b = b.keeping(m.book.Load(), m.sending)
	}
	m.install(b)
}

func (m *Meter) install(b *Book) {
	for {
		cur := m.book.Load()
		if cur != nil && cur.Height > b.Height {
			return
		}
		if m.book.CompareAndSwap(cur, b) {
			m.changedMu.Lock()
			close(m.changed)
			m.changed = make(chan struct{})
			m.changedMu.Unlock()
			return
		}
	}
}

// Changed is closed once a book newer than the current one is installed.
func (m *Meter) Changed() <-chan struct{} {
	m.changedMu.Lock()
	defer m.changedMu.Unlock()
	return m.changed
}

// Book is the current account snapshot (nil before the first).
func (m *Meter) Book() *Book { return m.book.Load() }

// Ledger is the meter's ledger.
func (m *Meter) Ledger() *Ledger { return m.ledger }

// Ticket is an admitted request: its largest cost is held until Finish or
// Cancel.
type Ticket struct {
	m       *Meter
	Account uint64
	Price   uint64
	// Available is what the account could be charged here when admitted,
	// this request's hold included.
	Available uint64
	hold      uint64
	done      atomic.Bool
}

// Receipt is what one finished request cost.
type Receipt struct {
	Account uint64
	Tokens  uint64
	// Cost is this request's share of the chain's charge: the increase of
	// floor(unsettled tokens × price / 10^6), so the costs of all requests
	// add up to what settlement charges.
	Cost  uint64
	Price uint64
	// Balance is what the account can still be charged here afterwards.
	Balance uint64
}

// Admit checks a bearer key and holds the cost of maxTokens (prompt plus
// completion) against its account.
func (m *Meter) Admit(key string, maxTokens uint64) (*Ticket, error) {
	b := m.book.Load()
	if b == nil {
		return nil, ErrNotReady
	}
	a, ok := b.ByKey(sha256.Sum256([]byte(key)))
	if !ok {
		return nil, ErrUnknownKey
	}
	if !a.Allowed {
		return nil, ErrNotAllowed
	}
	need := MaxCost(maxTokens, b.Price)
	m.mu.Lock()
	defer m.mu.Unlock()
	u, _ := m.ledger.Usage(a.ID)
	if u.Dropped != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, u.Dropped)
	}
	avail, byLimit := m.available(b, a, u)
	if need > avail || (avail == 0 && b.Price > 0) {
		return nil, &InsufficientError{Account: a.ID, Available: avail, Need: need, Price: b.Price, Limit: byLimit}
	}
	m.holds[a.ID] = addSat(m.holds[a.ID], need)
	return &Ticket{m: m, Account: a.ID, Price: b.Price, Available: avail, hold: need}, nil
}

// available is what account a can be charged here beyond what is held.
// Callers hold m.mu.
func (m *Meter) available(b *Book, a *Account, u Usage) (avail uint64, byLimit bool) {
	owed := addSat(m.unsettledCost(a.Height, b.Price, u), m.holds[a.ID])
	avail = sub(a.Balance, owed)
	if a.SpendLimit > 0 {
		if l := sub(a.SpendLimit, addSat(a.EpochSpent, owed)); l < avail {
			return l, true
		}
	}
	return avail, false
}

// settledView is the settled state that matches balances read at height.
// Callers hold m.mu.
func (m *Meter) settledView(height int64, u Usage) Settled {
	if u.Settled.Height > height {
		return m.prev[u.Account]
	}
	return u.Settled
}

// unsettledCost is what settling u's counters now would charge, against a
// balance read at height.
func (m *Meter) unsettledCost(height int64, price uint64, u Usage) uint64 {
	s := m.settledView(height, u)
	c, _ := Cost(sub(u.Tokens, s.Tokens), price, s.Remainder)
	return c
}

// Finish meters what the request used (capped by what was admitted) and
// releases its hold. The usage is written to the ledger before it returns;
// a write error is returned with the receipt (the request was served: the
// counters stay in memory and the next line persists them).
func (t *Ticket) Finish(tokens uint64) (Receipt, error) {
	if !t.done.CompareAndSwap(false, true) {
		return Receipt{}, errors.New("ticket already finished")
	}
	m := t.m
	b := m.book.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.release(t)
	u, _ := m.ledger.Usage(t.Account)
	a, known := b.ByID(t.Account)
	s := m.settledView(b.heightOf(t.Account), u)
	before, _ := Cost(sub(u.Tokens, s.Tokens), b.Price, s.Remainder)
	after, _ := Cost(sub(addSat(u.Tokens, tokens), s.Tokens), b.Price, s.Remainder)
	cost := after - before
	u, err := m.ledger.serve(t.Account, tokens, cost)
	r := Receipt{Account: t.Account, Tokens: tokens, Cost: cost, Price: b.Price}
	if known {
		r.Balance, _ = m.available(b, a, u)
	}
	return r, err
}

// Cancel releases the hold of a request that was not served.
func (t *Ticket) Cancel() {
	if !t.done.CompareAndSwap(false, true) {
		return
	}
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	t.m.release(t)
}

func (m *Meter) release(t *Ticket) {
	if h := sub(m.holds[t.Account], t.hold); h > 0 {
		m.holds[t.Account] = h
	} else {
		delete(m.holds, t.Account)
	}
}

// Cost prices tokens as the chain does: floor((tokens × price + remainder)
// / 10^6) umerit and the new remainder; saturated at MaxUint64.
func Cost(tokens, price, remainder uint64) (uint64, uint64) {
	c, r := paymenttypes.PriceUsage(tokens, price, remainder)
	return saturate(c), r
}

// MaxCost bounds what tokens can add to any unsettled cost, whatever the
// carried remainder: ceil(tokens × price / 10^6).
func MaxCost(tokens, price uint64) uint64 {
	c, r := Cost(tokens, price, 0)
	if r > 0 && c < math.MaxUint64 {
		c++
	}
	return c
}

func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}
