package billing

import "sync"

// Sending marks a settlement on its way to the chain; call done once its
// result is in the ledger (Applied, SetSettled) or the attempt is over.
// Until then newer books wait: the block that includes the settlement can
// arrive first, with the charge in its balance while the ledger still
// counts that usage as unsettled, which would count it twice (a low
// X-Merit-Balance, and 402 for requests the account can pay for). A held
// book is at most the wait for one transaction old.
func (m *Meter) Sending() (done func()) {
	m.sendMu.Lock()
	m.sending++
	m.sendMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.sendMu.Lock()
			m.sending--
			var b *Book
			if m.sending == 0 {
				b, m.held = m.held, nil
			}
			m.sendMu.Unlock()
			if b != nil {
				m.install(b)
			}
		})
	}
}
