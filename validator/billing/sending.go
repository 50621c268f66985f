package billing

import "sync"

// Sending marks a settlement of the accounts ids on its way to the chain;
// call done once its result is in the ledger (Applied, SetSettled) or the
// attempt is over. Until then those accounts keep the view of the book
// installed now: the block that includes the settlement can arrive first,
// with the charge in its balance while the ledger still counts that usage
// as unsettled, which would count it twice (a low X-Merit-Balance, and 402
// for requests the account can pay for). Every other account follows newer
// books at once, so a key opened or topped up meanwhile is served within a
// block (holding the whole book made a new key wait for the transaction).
func (m *Meter) Sending(ids []uint64) (done func()) {
	m.sendMu.Lock()
	for _, id := range ids {
		m.sending[id]++
	}
	m.sendMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.sendMu.Lock()
			defer m.sendMu.Unlock()
			for _, id := range ids {
				if m.sending[id]--; m.sending[id] <= 0 {
					delete(m.sending, id)
				}
			}
			if b := m.held; b != nil {
				if len(m.sending) == 0 {
					m.held = nil
				}
				m.install(b.keeping(m.book.Load(), m.sending))
			}
		})
	}
}
