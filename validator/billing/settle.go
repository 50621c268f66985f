package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// Pending makes the ledger durable, then lists the counters to report:
// every account whose served counters are ahead of what the chain holds
// (Ledger.Unsettled), accounts with a settlement deadline first, soonest
// first (closing, or this gateway removed from the allowed list), then the
// longest unsettled (the oldest last settlement), then by account id; at
// most max items. The middle rule takes every account in turn when more
// have usage than one round settles: by id alone, busy low ids would hold
// the rest back. Only counters that reached the disk are ever reported, so
// a crash cannot make the chain charge usage this gateway would then forget.
func (m *Meter) Pending(max int) ([]paymenttypes.UsageItem, error) {
	if err := m.ledger.Sync(); err != nil {
		return nil, err
	}
	b := m.book.Load()
	settleBy := func(id uint64) int64 {
		if b != nil {
			return b.settleBy(id)
		}
		return 0
	}
	due := m.ledger.Unsettled()
	slices.SortStableFunc(due, func(x, y Usage) int {
		cx, cy := settleBy(x.Account), settleBy(y.Account)
		switch {
		case cx != 0 && cy == 0:
			return -1
		case cx == 0 && cy != 0:
			return 1
		}
		return cmp.Or(cmp.Compare(cx, cy), cmp.Compare(x.Settled.Height, y.Settled.Height))
	})
	if len(due) > max {
		due = due[:max]
	}
	items := make([]paymenttypes.UsageItem, len(due))
	for i, u := range due {
		items[i] = paymenttypes.UsageItem{AccountId: u.Account, CumulativeTokens: u.Tokens, CumulativeRequests: u.Requests}
	}
	return items, nil
}

// UnsettledCost is the price of everything served and not yet settled, at
// the current price: the trigger for an early settlement.
func (m *Meter) UnsettledCost() uint64 {
	b := m.book.Load()
	if b == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var total uint64
	for _, u := range m.ledger.Unsettled() {
		total = addSat(total, m.unsettledCost(b.heightOf(u.Account), b.Price, u))
	}
	return total
}

// Outcome is what settlement did with one account.
type Outcome struct {
	Account uint64
	// Charged and Shortfall are this settlement's, umerit.
	Charged, Shortfall uint64
	// Refused is the chain's reason when it took nothing; Resync says the
	// gateway's view of the chain's counters is stale and must be read
	// again (SetSettled); Dropped that the account will never settle.
	Refused string
	Resync  bool
	Dropped bool
}

// Applied records a settlement transaction included at height, with the
// chain's result for each item, at the price the chain charged.
func (m *Meter) Applied(items []paymenttypes.UsageItem, results []paymenttypes.ItemResult, height int64, price uint64) ([]Outcome, error) {
	if len(items) != len(results) {
		return nil, fmt.Errorf("settlement: %d items but %d results", len(items), len(results))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Outcome, len(items))
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for i, it := range items {
		r := results[i]
		o := Outcome{Account: it.AccountId, Refused: r.Refused}
		u, _ := m.ledger.Usage(it.AccountId)
		switch {
		case r.Refused == "":
			o.Charged, o.Shortfall = saturate(r.Charged), saturate(r.Shortfall)
			prev := u.Settled
			next := Settled{Tokens: it.CumulativeTokens, Requests: it.CumulativeRequests,
				Charged: addSat(prev.Charged, o.Charged), Shortfall: addSat(prev.Shortfall, o.Shortfall), Height: height}
			// The chain carries the sub-umerit remainder, except when it
			// capped the charge (then it drops it with the shortfall).
			if o.Shortfall == 0 {
				_, next.Remainder = Cost(sub(it.CumulativeTokens, prev.Tokens), price, prev.Remainder)
			}
			m.prev[it.AccountId] = prev
			keep(m.ledger.settle(it.AccountId, next))
		case strings.Contains(r.Refused, "backwards"):
			o.Resync = true
		default:
			o.Dropped = true
			keep(m.ledger.drop(it.AccountId, r.Refused))
		}
		out[i] = o
	}
	return out, firstErr
}

// SetSettled installs the chain's settlement record for an account (read
// at start, and after a refusal that says this gateway's view is stale).
// Counters the chain holds beyond the ledger's become the ledger's: the
// chain never charges them twice, and served usage cannot be behind them.
func (m *Meter) SetSettled(rec paymenttypes.Settlement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, _ := m.ledger.Usage(rec.AccountId)
	s := Settled{Tokens: rec.Tokens, Requests: rec.Requests, Remainder: rec.Remainder,
		Charged: saturate(rec.Charged), Shortfall: saturate(rec.Shortfall), Height: rec.UpdatedAt}
	if s == u.Settled {
		return nil
	}
	m.prev[rec.AccountId] = u.Settled
	return m.ledger.settle(rec.AccountId, s)
}

// DeadlineDue says an account with a settlement deadline (closing, or this
// gateway removed from its allowed list) has unsettled usage: it must
// settle before the deadline, whatever the interval.
func (m *Meter) DeadlineDue() bool {
	b := m.book.Load()
	if b == nil {
		return false
	}
	for _, u := range m.ledger.Unsettled() {
		if b.settleBy(u.Account) != 0 && u.Tokens > u.Settled.Tokens {
			return true
		}
	}
	return false
}
